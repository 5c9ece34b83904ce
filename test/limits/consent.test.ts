/**
 * Consent: nobody is added to a room, group or direct conversation against
 * their add policy; they get an invitation to accept (a join, with its room
 * event) or decline. Here the server's default is SHARED_ROOM.
 */
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AddPolicy, ConsentService } from "../../gen/chat/v1/consent_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { withToken } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { a } = setupTestEnv({ deps: { defaultWhoMayAdd: "SHARED_ROOM" } });

const consent = (u: TestUser) => createClient(ConsentService, withToken(a, u.token));
const isMember = async (u: TestUser, room: bigint) =>
  (await u.rooms.listMyRooms({})).rooms.some((r) => r.room?.id === room);

describe("consent", () => {
  it("invites strangers instead of adding them, and adds people who share a room", async () => {
    const alice = await newUser(a, "cs");
    const bob = await newUser(a, "cs");
    const carol = await newUser(a, "cs");
    expect((await consent(bob).getPrivacy({})).effectiveWhoMayAdd).toBe(AddPolicy.SHARED_ROOM);
    const res = await alice.rooms.createRoom({
      name: "party",
      visibility: Visibility.PRIVATE,
      memberIds: [bob.id],
    });
    const room = res.room?.id ?? 0n;
    expect(res.invitedUserIds).toEqual([bob.id]);
    expect(await isMember(bob, room)).toBe(false);
    // Bob accepts: he joins, and his feed hears of the room.
    const feed = FeedReader.open(bob.feed);
    await feed.ready();
    const [inv] = (await consent(bob).listInvitations({})).invitations;
    expect(inv?.room?.id).toBe(room);
    expect(inv?.inviter?.id).toBe(alice.id);
    // Nobody else can take it.
    await expectCode(
      consent(carol).acceptInvitation({ invitationId: inv?.id ?? 0n }),
      Code.NotFound,
    );
    const accepted = await consent(bob).acceptInvitation({ invitationId: inv?.id ?? 0n });
    expect(accepted.room?.id).toBe(room);
    expect(await isMember(bob, room)).toBe(true);
    await feed.until((e) => e.case === "roomAdded");
    feed.close();
    expect((await consent(bob).listInvitations({})).invitations).toHaveLength(0);
    // Now they share a room: Alice adds Bob directly.
    const group = await alice.rooms.createGroupDirect({ userIds: [bob.id, carol.id] });
    expect(group.invitedUserIds).toEqual([carol.id]);
    expect(await isMember(bob, group.room?.id ?? 0n)).toBe(true);
  });

  it("NOBODY makes every add an invitation, direct conversations too; declining leaves no trace", async () => {
    const alice = await newUser(a, "cs");
    const dave = await newUser(a, "cs");
    const shared = await newRoom(alice);
    await dave.rooms.joinRoom({ roomId: shared });
    await consent(dave).setPrivacy({ whoMayAdd: AddPolicy.NOBODY });
    const room = await newRoom(alice);
    const inv = await alice.rooms.inviteMembers({ roomId: room, userIds: [dave.id] });
    expect(inv.added).toHaveLength(0);
    expect(inv.invitedUserIds).toEqual([dave.id]);
    const dm = await alice.rooms.openDirect({ userId: dave.id });
    expect(dm.invitedUserIds).toEqual([dave.id]);
    expect(await isMember(dave, dm.room?.id ?? 0n)).toBe(false);
    const pending = (await consent(dave).listInvitations({})).invitations;
    expect(pending.map((i) => i.room?.id).sort()).toEqual([room, dm.room?.id].sort());
    for (const i of pending) await consent(dave).declineInvitation({ invitationId: i.id });
    expect((await consent(dave).listInvitations({})).invitations).toHaveLength(0);
    await expectCode(
      consent(dave).acceptInvitation({ invitationId: pending[0]?.id ?? 0n }),
      Code.NotFound,
    );
    expect(await isMember(dave, room)).toBe(false);
    // Back to ANYONE: added at once.
    await consent(dave).setPrivacy({ whoMayAdd: AddPolicy.ANYONE });
    const again = await alice.rooms.inviteMembers({ roomId: room, userIds: [dave.id] });
    expect(again.added.map((m) => m.user?.id)).toEqual([dave.id]);
  });
});

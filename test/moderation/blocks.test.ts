/**
 * Blocks: a blocked user cannot open a direct conversation with, invite, or
 * add the blocker (to a room or a group) — they get the answer of an add
 * policy of "nobody" and no invitation reaches the blocker; neither can
 * send in their direct conversation; everyone else sees rooms as before;
 * unblocking restores everything. The server default here is ANYONE, so a
 * block is the only reason an add becomes an "invitation".
 */
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AddPolicy, ConsentService } from "../../gen/chat/v1/consent_pb.js";
import { ModerationService } from "../../gen/chat/v1/moderation_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { withToken } from "../support/clients.js";
import { badFields, expectCode, reasonOf } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env, a } = setupTestEnv({ deps: { defaultWhoMayAdd: "ANYONE" } });

const mod = (u: TestUser) => createClient(ModerationService, withToken(a, u.token));
const consent = (u: TestUser) => createClient(ConsentService, withToken(a, u.token));
const isMember = async (u: TestUser, room: bigint) =>
  (await u.rooms.listMyRooms({})).rooms.some((r) => r.room?.id === room);
const invitations = async (u: TestUser) =>
  (await consent(u).listInvitations({})).invitations.map((i) => i.room?.id);

describe("block", () => {
  it("answers a blocked user's adds like 'nobody may add me', and unblocking undoes it", async () => {
    const alice = await newUser(a, "bk");
    const bob = await newUser(a, "bk");
    const carol = await newUser(a, "bk");
    await mod(alice).blockUser({ userId: bob.id });
    await mod(alice).blockUser({ userId: bob.id }); // idempotent
    const listed = (await mod(alice).listBlockedUsers({})).blocked;
    expect(listed.map((b) => b.user?.id)).toEqual([bob.id]);
    expect(listed[0]?.user?.username).toBe(bob.user.username);
    expect((await mod(bob).listBlockedUsers({})).blocked).toHaveLength(0);

    // Direct conversation: "invited", as under NOBODY; Alice is not in it and has no invitation.
    const dm = await bob.rooms.openDirect({ userId: alice.id });
    expect(dm.invitedUserIds).toEqual([alice.id]);
    const dmId = dm.room?.id ?? 0n;
    expect(await isMember(alice, dmId)).toBe(false);
    // Opening it again says nothing more (as when an invitation is pending).
    const again = await bob.rooms.openDirect({ userId: alice.id });
    expect(again.created).toBe(false);
    expect(again.invitedUserIds).toEqual([]);
    // A room created with her, an invitation to another room, a group: all "invited".
    const created = await bob.rooms.createRoom({
      name: "bk room",
      visibility: Visibility.PRIVATE,
      memberIds: [alice.id],
    });
    expect(created.invitedUserIds).toEqual([alice.id]);
    const other = await newRoom(bob);
    const inv = await bob.rooms.inviteMembers({ roomId: other, userIds: [alice.id, carol.id] });
    expect(inv.added.map((m) => m.user?.id)).toEqual([carol.id]);
    expect(inv.invitedUserIds).toEqual([alice.id]);
    const group = await bob.rooms.createGroupDirect({ userIds: [alice.id, carol.id] });
    expect(group.invitedUserIds).toEqual([alice.id]);
    expect(await isMember(carol, group.room?.id ?? 0n)).toBe(true);
    for (const r of [created.room?.id ?? 0n, other, group.room?.id ?? 0n]) {
      expect(await isMember(alice, r)).toBe(false);
    }
    expect(await invitations(alice)).toEqual([]);
    // Others are not affected: Carol adds Alice at once.
    const cg = await carol.rooms.createGroupDirect({ userIds: [alice.id, bob.id] });
    expect(cg.invitedUserIds).toEqual([]);
    expect(await isMember(alice, cg.room?.id ?? 0n)).toBe(true);

    // Unblocked: every path adds her again, the direct conversation included.
    await mod(alice).unblockUser({ userId: bob.id });
    await mod(alice).unblockUser({ userId: bob.id }); // idempotent
    expect((await mod(alice).listBlockedUsers({})).blocked).toHaveLength(0);
    const reopened = await bob.rooms.openDirect({ userId: alice.id });
    expect(reopened.room?.id).toBe(dmId);
    expect(reopened.invitedUserIds).toEqual([]);
    expect(await isMember(alice, dmId)).toBe(true);
    await send(bob, dmId, "hello again");
    const inv2 = await bob.rooms.inviteMembers({ roomId: other, userIds: [alice.id] });
    expect(inv2.added.map((m) => m.user?.id)).toEqual([alice.id]);
    const group2 = await bob.rooms.createGroupDirect({ userIds: [alice.id, carol.id] });
    expect(group2.invitedUserIds).toEqual([]);
    expect(await isMember(alice, group2.room?.id ?? 0n)).toBe(true);
  });

  it("stops both sides writing in an existing direct conversation, and nobody else", async () => {
    const alice = await newUser(a, "bk");
    const dave = await newUser(a, "bk");
    const erin = await newUser(a, "bk");
    const dm = (await dave.rooms.openDirect({ userId: alice.id })).room?.id ?? 0n;
    await send(dave, dm, "hi");
    const room = await newRoom(erin, [alice, dave]);
    await mod(alice).blockUser({ userId: dave.id });
    const before = await roomSnapshot(env, dm);
    const fromDave = await expectCode(
      dave.msgs.sendMessage({ roomId: dm, text: "still there?", clientMsgId: "b1" }),
      Code.PermissionDenied,
    );
    expect(reasonOf(fromDave)).toBe("BLOCKED");
    expect(fromDave.rawMessage).not.toContain("blocked");
    const fromAlice = await expectCode(
      alice.msgs.sendMessage({ roomId: dm, text: "no", clientMsgId: "b2" }),
      Code.PermissionDenied,
    );
    expect(reasonOf(fromAlice)).toBe("BLOCKED");
    expect(fromAlice.rawMessage).toContain("unblock");
    expect(await roomSnapshot(env, dm)).toEqual(before);
    // Both still read it; in a shared room Dave writes and everyone reads him.
    expect((await alice.msgs.listMessages({ roomId: dm })).messages.length).toBeGreaterThan(0);
    await send(dave, room, "in the group");
    const seen = (await alice.msgs.listMessages({ roomId: room })).messages;
    expect(seen.some((m) => m.text === "in the group")).toBe(true);
    // Unblocked: both write again.
    await mod(alice).unblockUser({ userId: dave.id });
    await send(dave, dm, "back");
    await send(alice, dm, "hi dave");
  });

  it("declines the blocked user's pending invitations", async () => {
    const carol = await newUser(a, "bk");
    const bob = await newUser(a, "bk");
    await consent(carol).setPrivacy({ whoMayAdd: AddPolicy.NOBODY });
    const room = await newRoom(bob, [carol]);
    expect(await invitations(carol)).toEqual([room]);
    await mod(carol).blockUser({ userId: bob.id });
    expect(await invitations(carol)).toEqual([]);
  });

  it("refuses bad input and unknown users, changing nothing", async () => {
    const alice = await newUser(a, "bk");
    const err = await expectCode(mod(alice).blockUser({ userId: alice.id }), Code.InvalidArgument);
    expect(badFields(err)).toEqual(["user_id"]);
    await expectCode(mod(alice).blockUser({ userId: 0n }), Code.InvalidArgument);
    await expectCode(mod(alice).blockUser({ userId: 999_999_999n }), Code.NotFound);
    expect((await mod(alice).listBlockedUsers({})).blocked).toHaveLength(0);
  });
});

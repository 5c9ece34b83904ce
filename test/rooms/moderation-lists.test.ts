// What the members panel needs to moderate: ListMembers with `banned` (the
// users banned from a room, for its owners and admins only, to unban them)
// and each member's live mute (`muted_until`).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { ModerationService } from "../../gen/chat/v1/moderation_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { withToken } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { transport } = setupTestEnv();

let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let outsider: TestUser;
let troll: TestUser;
let stranger: TestUser;
let room: bigint;

const ids = (list: { user?: { id: bigint } }[]) => list.map((m) => m.user?.id ?? 0n);

beforeAll(async () => {
  const u = () => newUser(transport, "banlist");
  [owner, admin, member, outsider, troll, stranger] = await Promise.all([
    u(),
    u(),
    u(),
    u(),
    u(),
    u(),
  ]);
  room = await newRoom(owner, [], Visibility.PUBLIC, "banlist");
  for (const u of [admin, member, troll]) await u.rooms.joinRoom({ roomId: room });
  await owner.rooms.setMemberRole({ roomId: room, userId: admin.id, role: MemberRole.ADMIN });
  // One banned as a member, one banned without ever joining.
  await admin.rooms.banMember({ roomId: room, userId: troll.id });
  await owner.rooms.banMember({ roomId: room, userId: stranger.id });
});

describe("ListMembers banned", () => {
  it("lists the banned users to owners and admins, not among the members", async () => {
    for (const who of [owner, admin]) {
      const res = await who.rooms.listMembers({ roomId: room, banned: true });
      expect(new Set(ids(res.members))).toEqual(new Set([troll.id, stranger.id]));
      expect(res.members.find((m) => m.user?.id === troll.id)?.user?.username).toBe(troll.username);
    }
    const members = await owner.rooms.listMembers({ roomId: room });
    expect(new Set(ids(members.members))).toEqual(new Set([owner.id, admin.id, member.id]));
  });

  it("pages the banned list exactly once each", async () => {
    const first = await owner.rooms.listMembers({ roomId: room, banned: true, pageSize: 1 });
    expect(first.members).toHaveLength(1);
    expect(first.nextPageToken).not.toBe("");
    const second = await owner.rooms.listMembers({
      roomId: room,
      banned: true,
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.members).toHaveLength(1);
    expect(new Set([...ids(first.members), ...ids(second.members)])).toEqual(
      new Set([troll.id, stranger.id]),
    );
  });

  it("refuses members and non-members of a public room; hides a private room", async () => {
    await expectCode(
      member.rooms.listMembers({ roomId: room, banned: true }),
      Code.PermissionDenied,
    );
    await expectCode(
      outsider.rooms.listMembers({ roomId: room, banned: true }),
      Code.PermissionDenied,
    );
    // The banned themselves cannot see the room at all.
    await expectCode(troll.rooms.listMembers({ roomId: room, banned: true }), Code.NotFound);
    const secret = await newRoom(owner, [], Visibility.PRIVATE, "banlist");
    await expectCode(outsider.rooms.listMembers({ roomId: secret, banned: true }), Code.NotFound);
  });

  it("drops a user from the list once unbanned", async () => {
    await owner.rooms.unbanMember({ roomId: room, userId: stranger.id });
    const res = await admin.rooms.listMembers({ roomId: room, banned: true });
    expect(ids(res.members)).toEqual([troll.id]);
  });
});

describe("ListMembers muted_until", () => {
  it("shows a live mute on the member, to everyone, and drops it on unmute", async () => {
    const mod = createClient(ModerationService, withToken(transport, admin.token));
    const { until } = await mod.muteMember({
      roomId: room,
      userId: member.id,
      durationSeconds: 600,
    });
    const find = async (who: TestUser) =>
      (await who.rooms.listMembers({ roomId: room })).members.find((m) => m.user?.id === member.id);
    for (const who of [owner, member]) {
      const seen = await find(who);
      expect(seen?.mutedUntil && timestampDate(seen.mutedUntil).getTime()).toBe(
        until && timestampDate(until).getTime(),
      );
    }
    expect((await find(owner))?.mutedUntil).toBeDefined();
    expect(
      (await owner.rooms.listMembers({ roomId: room })).members.find((m) => m.user?.id === admin.id)
        ?.mutedUntil,
    ).toBeUndefined();
    await mod.unmuteMember({ roomId: room, userId: member.id });
    expect((await find(owner))?.mutedUntil).toBeUndefined();
  });
});

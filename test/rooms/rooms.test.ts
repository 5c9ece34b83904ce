// RoomService happy paths, each checked down to the rows, events and SYSTEM
// messages it leaves behind.
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { MemberRemoved_Reason, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { SystemNoticeSchema } from "../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { RoomKind, Visibility } from "../../gen/chat/v1/room_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

async function events(roomId: bigint) {
  const rows = await env.prisma.roomEvent.findMany({ where: { roomId }, orderBy: { seq: "asc" } });
  return rows.map((r) => ({ ...r, event: fromBinary(RoomEventSchema, r.payload) }));
}

async function systemMessages(roomId: bigint) {
  const rows = await env.prisma.message.findMany({
    where: { roomId, kind: "SYSTEM" },
    orderBy: { seq: "asc" },
  });
  return rows.map((r) => {
    expect(r.senderId).toBeNull();
    return { seq: r.seq, notice: fromBinary(SystemNoticeSchema, r.payload ?? new Uint8Array()) };
  });
}

async function lastSeq(roomId: bigint): Promise<bigint> {
  return (await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } })).lastSeq;
}

async function membership(roomId: bigint, userId: bigint) {
  return env.prisma.membership.findUniqueOrThrow({ where: { roomId_userId: { roomId, userId } } });
}

let owner: TestUser;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  [owner, alice, bob, carol] = await Promise.all([
    newUser(transport),
    newUser(transport),
    newUser(transport),
    newUser(transport),
  ]);
});

describe("CreateRoom", () => {
  it("creates the room at seq 1: one members_added event and a room_created notice", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "  General  ",
      description: " all things ",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id, bob.id, alice.id, owner.id],
    });
    if (!room) throw new Error("no room");
    expect(room.name).toBe("General");
    expect(room.description).toBe("all things");
    expect(room.kind).toBe(RoomKind.CHANNEL);
    expect(room.visibility).toBe(Visibility.PUBLIC);
    expect(room.creatorId).toBe(owner.id);
    expect(room.memberCount).toBe(3);
    expect(room.lastSeq).toBe(1n);
    expect(room.archiveTime).toBeUndefined();

    const evs = await events(room.id);
    expect(evs.map((e) => [e.seq, e.type, e.actorId])).toEqual([[1n, "membersAdded", owner.id]]);
    const change = evs[0]?.event.change;
    if (change?.case !== "membersAdded") throw new Error("wrong event");
    expect(change.value.members.map((m) => [m.user?.id, m.role])).toEqual([
      [owner.id, MemberRole.OWNER],
      [alice.id, MemberRole.MEMBER],
      [bob.id, MemberRole.MEMBER],
    ]);

    const sys = await systemMessages(room.id);
    expect(sys).toHaveLength(1);
    expect(sys[0]?.seq).toBe(1n);
    expect(sys[0]?.notice.actorId).toBe(owner.id);
    expect(sys[0]?.notice.notice).toMatchObject({
      case: "roomCreated",
      value: { name: "General" },
    });

    const m = await membership(room.id, alice.id);
    expect([m.state, m.role, m.joinedSeq, m.lastReadSeq]).toEqual(["JOINED", "MEMBER", 1n, 1n]);
    expect((await membership(room.id, owner.id)).role).toBe("OWNER");
    const row = await env.prisma.room.findUniqueOrThrow({ where: { id: room.id } });
    expect([row.lastSeq, row.memberCount]).toEqual([1n, 3]);
  });

  it("rejects blank names and unknown members, writing nothing", async () => {
    const before = await env.prisma.room.count();
    let err = await expectCode(
      owner.rooms.createRoom({ name: "   ", visibility: Visibility.PUBLIC }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["name"]);
    err = await expectCode(
      owner.rooms.createRoom({ name: "x", visibility: Visibility.UNSPECIFIED }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["visibility"]);
    err = await expectCode(
      owner.rooms.createRoom({ name: "x".repeat(81), visibility: Visibility.PRIVATE }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["name"]);
    err = await expectCode(
      owner.rooms.createRoom({
        name: "ghosts",
        visibility: Visibility.PRIVATE,
        memberIds: [alice.id, 987_654_321n],
      }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["member_ids"]);
    expect(err.message).toContain("987654321");
    expect(await env.prisma.room.count()).toBe(before);
    expect(await env.prisma.room.count({ where: { name: "ghosts" } })).toBe(0);
  });
});

describe("GetRoom", () => {
  it("returns the caller's role and read marker, or none for a public non-member", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "get",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id],
    });
    const id = room?.id ?? 0n;
    const mine = await owner.rooms.getRoom({ roomId: id });
    expect([mine.myRole, mine.lastReadSeq, mine.room?.name]).toEqual([MemberRole.OWNER, 1n, "get"]);
    const theirs = await carol.rooms.getRoom({ roomId: id });
    expect([theirs.myRole, theirs.lastReadSeq]).toEqual([MemberRole.UNSPECIFIED, 0n]);
    await expectCode(carol.rooms.getRoom({ roomId: 987_654_321n }), Code.NotFound);
  });
});

describe("UpdateRoom", () => {
  it("renames with a room_renamed notice, describes without one, ignores no-ops", async () => {
    const { room } = await owner.rooms.createRoom({ name: "old", visibility: Visibility.PRIVATE });
    const id = room?.id ?? 0n;
    const renamed = await owner.rooms.updateRoom({ roomId: id, name: " new " });
    expect([renamed.room?.name, renamed.room?.lastSeq]).toEqual(["new", 2n]);
    const described = await owner.rooms.updateRoom({ roomId: id, description: "about" });
    expect([described.room?.description, described.room?.lastSeq]).toEqual(["about", 3n]);
    // Unchanged values: no event.
    const same = await owner.rooms.updateRoom({ roomId: id, name: "new", description: "about" });
    expect(same.room?.lastSeq).toBe(3n);
    expect(await lastSeq(id)).toBe(3n);

    const evs = await events(id);
    expect(evs.map((e) => e.type)).toEqual(["membersAdded", "roomUpdated", "roomUpdated"]);
    const c2 = evs[1]?.event.change;
    if (c2?.case !== "roomUpdated") throw new Error("wrong event");
    expect([c2.value.room?.name, c2.value.room?.lastSeq]).toEqual(["new", 2n]);
    const sys = await systemMessages(id);
    expect(sys.map((s) => [s.seq, s.notice.notice.case])).toEqual([
      [1n, "roomCreated"],
      [2n, "roomRenamed"],
    ]);
    expect(sys[1]?.notice.notice.value).toMatchObject({ oldName: "old", newName: "new" });

    const err = await expectCode(
      owner.rooms.updateRoom({ roomId: id, name: "  " }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["name"]);
    expect(await lastSeq(id)).toBe(3n);
  });
});

describe("ArchiveRoom", () => {
  it("archives once, is idempotent, and makes every change FailedPrecondition", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "archive-me",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id, bob.id],
    });
    const id = room?.id ?? 0n;
    await owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.ADMIN });
    const a1 = await owner.rooms.archiveRoom({ roomId: id });
    expect(a1.room?.archiveTime).toBeDefined();
    expect(a1.room?.lastSeq).toBe(3n);
    const a2 = await owner.rooms.archiveRoom({ roomId: id });
    expect(a2.room?.lastSeq).toBe(3n);
    expect(a2.room?.archiveTime).toEqual(a1.room?.archiveTime);
    const sys = await systemMessages(id);
    expect(sys.at(-1)).toMatchObject({ seq: 3n, notice: { notice: { case: "roomArchived" } } });

    const fp = Code.FailedPrecondition;
    await expectCode(owner.rooms.updateRoom({ roomId: id, name: "x" }), fp);
    await expectCode(carol.rooms.joinRoom({ roomId: id }), fp);
    await expectCode(bob.rooms.leaveRoom({ roomId: id }), fp);
    await expectCode(alice.rooms.inviteMembers({ roomId: id, userIds: [carol.id] }), fp);
    await expectCode(alice.rooms.kickMember({ roomId: id, userId: bob.id }), fp);
    await expectCode(alice.rooms.banMember({ roomId: id, userId: carol.id }), fp);
    await expectCode(alice.rooms.unbanMember({ roomId: id, userId: carol.id }), fp);
    await expectCode(
      owner.rooms.setMemberRole({ roomId: id, userId: bob.id, role: MemberRole.ADMIN }),
      fp,
    );
    await expectCode(alice.rooms.archiveRoom({ roomId: id }), Code.PermissionDenied);
    expect(await lastSeq(id)).toBe(3n);

    // Reading still works; joining again as a member is not a change.
    expect((await bob.rooms.getRoom({ roomId: id })).room?.archiveTime).toBeDefined();
    expect((await bob.rooms.joinRoom({ roomId: id })).room?.lastSeq).toBe(3n);
    expect((await bob.rooms.listMembers({ roomId: id })).members).toHaveLength(3);
    const pub = await carol.rooms.listPublicRooms({ query: "archive-me" });
    expect(pub.rooms).toHaveLength(0);
    const mine = await bob.rooms.listMyRooms({});
    expect(mine.rooms.map((r) => r.room?.id)).not.toContain(id);
    const all = await bob.rooms.listMyRooms({ includeArchived: true });
    expect(all.rooms.map((r) => r.room?.id)).toContain(id);
  });
});

describe("JoinRoom and LeaveRoom", () => {
  it("joins with members_added + members_joined, leaves with member_removed LEFT", async () => {
    const { room } = await owner.rooms.createRoom({ name: "lobby", visibility: Visibility.PUBLIC });
    const id = room?.id ?? 0n;
    const joined = await alice.rooms.joinRoom({ roomId: id });
    expect([joined.room?.memberCount, joined.room?.lastSeq]).toEqual([2, 2n]);
    // Joining again changes nothing.
    expect((await alice.rooms.joinRoom({ roomId: id })).room?.lastSeq).toBe(2n);
    await alice.rooms.leaveRoom({ roomId: id });
    expect((await membership(id, alice.id)).state).toBe("LEFT");
    const back = await alice.rooms.joinRoom({ roomId: id });
    expect([back.room?.memberCount, back.room?.lastSeq]).toEqual([2, 4n]);
    const m = await membership(id, alice.id);
    expect([m.state, m.role, m.joinedSeq, m.lastReadSeq]).toEqual(["JOINED", "MEMBER", 4n, 4n]);

    const evs = await events(id);
    expect(evs.map((e) => [e.seq, e.type, e.actorId])).toEqual([
      [1n, "membersAdded", owner.id],
      [2n, "membersAdded", alice.id],
      [3n, "memberRemoved", alice.id],
      [4n, "membersAdded", alice.id],
    ]);
    const left = evs[2]?.event.change;
    expect(left).toMatchObject({
      case: "memberRemoved",
      value: { userId: alice.id, reason: MemberRemoved_Reason.LEFT },
    });
    const sys = await systemMessages(id);
    expect(sys.map((s) => [s.seq, s.notice.notice.case, s.notice.actorId])).toEqual([
      [1n, "roomCreated", owner.id],
      [2n, "membersJoined", alice.id],
      [3n, "memberLeft", alice.id],
      [4n, "membersJoined", alice.id],
    ]);
  });

  it("keeps the owner until ownership moves; the last member may leave", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "own",
      visibility: Visibility.PRIVATE,
      memberIds: [alice.id],
    });
    const id = room?.id ?? 0n;
    const err = await expectCode(owner.rooms.leaveRoom({ roomId: id }), Code.FailedPrecondition);
    expect(err.message).toContain("transfer ownership first");
    expect(await lastSeq(id)).toBe(1n);
    await alice.rooms.leaveRoom({ roomId: id });
    await owner.rooms.leaveRoom({ roomId: id });
    const row = await env.prisma.room.findUniqueOrThrow({ where: { id } });
    expect([row.memberCount, row.lastSeq]).toEqual([0, 3n]);
    await expectCode(owner.rooms.getRoom({ roomId: id }), Code.NotFound);
  });
});

describe("InviteMembers", () => {
  it("adds everyone new in one event, skipping members", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "invite",
      visibility: Visibility.PRIVATE,
      memberIds: [alice.id],
    });
    const id = room?.id ?? 0n;
    const res = await owner.rooms.inviteMembers({
      roomId: id,
      userIds: [alice.id, bob.id, carol.id, bob.id, owner.id],
    });
    expect(res.added.map((m) => [m.user?.id, m.user?.username, m.role])).toEqual([
      [bob.id, bob.username, MemberRole.MEMBER],
      [carol.id, carol.username, MemberRole.MEMBER],
    ]);
    const nothing = await owner.rooms.inviteMembers({ roomId: id, userIds: [bob.id] });
    expect(nothing.added).toHaveLength(0);
    const row = await env.prisma.room.findUniqueOrThrow({ where: { id } });
    expect([row.memberCount, row.lastSeq]).toEqual([4, 2n]);
    const evs = await events(id);
    expect(evs.map((e) => e.type)).toEqual(["membersAdded", "membersAdded"]);
    const sys = await systemMessages(id);
    expect(sys[1]).toMatchObject({
      seq: 2n,
      notice: {
        actorId: owner.id,
        notice: { case: "membersJoined", value: { userIds: [bob.id, carol.id] } },
      },
    });
  });

  it("rejects unknown users (InvalidArgument) and banned ones (FailedPrecondition), atomically", async () => {
    const { room } = await owner.rooms.createRoom({ name: "inv2", visibility: Visibility.PUBLIC });
    const id = room?.id ?? 0n;
    await owner.rooms.banMember({ roomId: id, userId: carol.id });
    const seq = await lastSeq(id);
    const err = await expectCode(
      owner.rooms.inviteMembers({ roomId: id, userIds: [alice.id, 987_654_321n] }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["user_ids"]);
    const banned = await expectCode(
      owner.rooms.inviteMembers({ roomId: id, userIds: [alice.id, carol.id] }),
      Code.FailedPrecondition,
    );
    expect(banned.message).toContain(carol.username);
    expect(await lastSeq(id)).toBe(seq);
    expect(await env.prisma.membership.count({ where: { roomId: id, userId: alice.id } })).toBe(0);
    await expectCode(owner.rooms.inviteMembers({ roomId: id, userIds: [] }), Code.InvalidArgument);
  });
});

describe("KickMember, BanMember, UnbanMember", () => {
  it("kicks (may rejoin), bans (may not), unbans (not re-added)", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "mod",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id, bob.id],
    });
    const id = room?.id ?? 0n;
    await owner.rooms.kickMember({ roomId: id, userId: alice.id }); // 2
    expect((await membership(id, alice.id)).state).toBe("KICKED");
    await alice.rooms.joinRoom({ roomId: id }); // 3
    await owner.rooms.banMember({ roomId: id, userId: bob.id }); // 4
    await owner.rooms.banMember({ roomId: id, userId: bob.id }); // no change
    const err = await expectCode(bob.rooms.joinRoom({ roomId: id }), Code.PermissionDenied);
    expect(err.message).toBe("[permission_denied] you are banned from this room");
    await expectCode(bob.rooms.getRoom({ roomId: id }), Code.NotFound);
    await owner.rooms.banMember({ roomId: id, userId: carol.id }); // 5: not a member
    expect((await membership(id, carol.id)).state).toBe("BANNED");
    await owner.rooms.unbanMember({ roomId: id, userId: bob.id }); // 6
    await owner.rooms.unbanMember({ roomId: id, userId: bob.id }); // no change
    expect((await membership(id, bob.id)).state).toBe("LEFT");
    expect((await owner.rooms.getRoom({ roomId: id })).room?.memberCount).toBe(2);
    await bob.rooms.joinRoom({ roomId: id }); // 7

    const evs = await events(id);
    expect(
      evs.map((e) => [
        e.seq,
        e.type,
        e.event.change.case === "memberRemoved" ? e.event.change.value.reason : undefined,
      ]),
    ).toEqual([
      [1n, "membersAdded", undefined],
      [2n, "memberRemoved", MemberRemoved_Reason.KICKED],
      [3n, "membersAdded", undefined],
      [4n, "memberRemoved", MemberRemoved_Reason.BANNED],
      [5n, "memberRemoved", MemberRemoved_Reason.BANNED],
      [6n, "memberUnbanned", undefined],
      [7n, "membersAdded", undefined],
    ]);
    const sys = await systemMessages(id);
    // Banning the outsider (5) and the unban (6) have no history entry.
    expect(sys.map((s) => [s.seq, s.notice.notice.case])).toEqual([
      [1n, "roomCreated"],
      [2n, "memberRemoved"],
      [3n, "membersJoined"],
      [4n, "memberRemoved"],
      [7n, "membersJoined"],
    ]);
    expect(sys[1]?.notice.notice.value).toMatchObject({ userId: alice.id, banned: false });
    expect(sys[3]?.notice.notice.value).toMatchObject({ userId: bob.id, banned: true });
    expect((await owner.rooms.getRoom({ roomId: id })).room?.memberCount).toBe(3);
  });

  it("acts only on lower roles, never on oneself, and only on members (kick)", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "ranks",
      visibility: Visibility.PRIVATE,
      memberIds: [alice.id, bob.id],
    });
    const id = room?.id ?? 0n;
    await owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.ADMIN });
    await owner.rooms.setMemberRole({ roomId: id, userId: bob.id, role: MemberRole.ADMIN });
    const seq = await lastSeq(id);
    await expectCode(alice.rooms.kickMember({ roomId: id, userId: bob.id }), Code.PermissionDenied);
    await expectCode(
      alice.rooms.banMember({ roomId: id, userId: owner.id }),
      Code.PermissionDenied,
    );
    let err = await expectCode(
      alice.rooms.kickMember({ roomId: id, userId: alice.id }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["user_id"]);
    err = await expectCode(
      owner.rooms.banMember({ roomId: id, userId: owner.id }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["user_id"]);
    await expectCode(alice.rooms.kickMember({ roomId: id, userId: carol.id }), Code.NotFound);
    await expectCode(alice.rooms.banMember({ roomId: id, userId: 987_654_321n }), Code.NotFound);
    expect(await lastSeq(id)).toBe(seq);
    await owner.rooms.kickMember({ roomId: id, userId: bob.id });
    expect(await lastSeq(id)).toBe(seq + 1n);
  });
});

describe("SetMemberRole", () => {
  it("makes admins and transfers ownership in two role changes", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "roles",
      visibility: Visibility.PRIVATE,
      memberIds: [alice.id, bob.id],
    });
    const id = room?.id ?? 0n;
    const res = await owner.rooms.setMemberRole({
      roomId: id,
      userId: alice.id,
      role: MemberRole.ADMIN,
    });
    expect([res.member?.user?.id, res.member?.role]).toEqual([alice.id, MemberRole.ADMIN]);
    // Same role: no change.
    await owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.ADMIN });
    expect(await lastSeq(id)).toBe(2n);
    await expectCode(
      alice.rooms.setMemberRole({ roomId: id, userId: bob.id, role: MemberRole.ADMIN }),
      Code.PermissionDenied,
    );
    const t = await owner.rooms.setMemberRole({
      roomId: id,
      userId: bob.id,
      role: MemberRole.OWNER,
    });
    expect(t.member?.role).toBe(MemberRole.OWNER);
    expect((await membership(id, owner.id)).role).toBe("ADMIN");
    expect((await membership(id, bob.id)).role).toBe("OWNER");
    expect(await env.prisma.membership.count({ where: { roomId: id, role: "OWNER" } })).toBe(1);
    expect(await lastSeq(id)).toBe(4n);

    const evs = await events(id);
    expect(
      evs
        .slice(1)
        .map((e) => [
          e.seq,
          e.type,
          e.event.change.case === "memberRoleChanged"
            ? [e.event.change.value.userId, e.event.change.value.role]
            : null,
        ]),
    ).toEqual([
      [2n, "memberRoleChanged", [alice.id, MemberRole.ADMIN]],
      [3n, "memberRoleChanged", [bob.id, MemberRole.OWNER]],
      [4n, "memberRoleChanged", [owner.id, MemberRole.ADMIN]],
    ]);
    const sys = await systemMessages(id);
    expect(sys.map((s) => [s.seq, s.notice.notice.case])).toEqual([
      [1n, "roomCreated"],
      [2n, "roleChanged"],
      [3n, "roleChanged"],
      [4n, "roleChanged"],
    ]);
    // The old owner (now ADMIN) can no longer change roles; the new one can.
    await expectCode(
      owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.MEMBER }),
      Code.PermissionDenied,
    );
    await bob.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.MEMBER });
    expect((await membership(id, alice.id)).role).toBe("MEMBER");
    let err = await expectCode(
      bob.rooms.setMemberRole({ roomId: id, userId: bob.id, role: MemberRole.ADMIN }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["user_id"]);
    err = await expectCode(
      bob.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.UNSPECIFIED }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["role"]);
    await expectCode(
      bob.rooms.setMemberRole({ roomId: id, userId: carol.id, role: MemberRole.ADMIN }),
      Code.NotFound,
    );
  });
});

describe("ListMembers", () => {
  it("lists current members by join order with roles", async () => {
    const { room } = await owner.rooms.createRoom({
      name: "members",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id],
    });
    const id = room?.id ?? 0n;
    await bob.rooms.joinRoom({ roomId: id });
    await carol.rooms.joinRoom({ roomId: id });
    await alice.rooms.leaveRoom({ roomId: id });
    const res = await carol.rooms.listMembers({ roomId: id });
    expect(res.members.map((m) => [m.user?.id, m.role])).toEqual([
      [owner.id, MemberRole.OWNER],
      [bob.id, MemberRole.MEMBER],
      [carol.id, MemberRole.MEMBER],
    ]);
    expect(res.nextPageToken).toBe("");
  });
});

describe("sequence invariants", () => {
  it("keeps room_events dense 1..last_seq and SYSTEM messages at their events' seqs", async () => {
    const dave = await newUser(transport);
    const { room } = await owner.rooms.createRoom({
      name: "dense",
      visibility: Visibility.PUBLIC,
      memberIds: [alice.id],
    });
    const id = room?.id ?? 0n;
    const ops: Promise<unknown>[] = [
      bob.rooms.joinRoom({ roomId: id }),
      carol.rooms.joinRoom({ roomId: id }),
      owner.rooms.updateRoom({ roomId: id, name: "dense2" }),
      owner.msgs.sendMessage({ roomId: id, text: "hi", clientMsgId: "m1" }),
      alice.msgs.sendMessage({ roomId: id, text: "yo", clientMsgId: "m2" }),
      owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.ADMIN }),
      dave.rooms.joinRoom({ roomId: id }),
    ];
    await Promise.all(ops);
    // Rejected calls in between must not leave holes.
    await expectCode(bob.rooms.kickMember({ roomId: id, userId: carol.id }), Code.PermissionDenied);
    await expectCode(owner.rooms.leaveRoom({ roomId: id }), Code.FailedPrecondition);
    await Promise.all([
      alice.rooms.kickMember({ roomId: id, userId: bob.id }),
      alice.rooms.banMember({ roomId: id, userId: dave.id }),
      carol.rooms.leaveRoom({ roomId: id }),
      owner.rooms.updateRoom({ roomId: id, description: "d" }),
    ]);
    await owner.rooms.unbanMember({ roomId: id, userId: dave.id });
    await owner.rooms.inviteMembers({ roomId: id, userIds: [carol.id, bob.id] });
    await owner.rooms.setMemberRole({ roomId: id, userId: alice.id, role: MemberRole.OWNER });
    await expectCode(owner.rooms.archiveRoom({ roomId: id }), Code.PermissionDenied); // now ADMIN
    await alice.rooms.archiveRoom({ roomId: id });

    const row = await env.prisma.room.findUniqueOrThrow({ where: { id } });
    const evs = await events(id);
    expect(evs.map((e) => e.seq)).toEqual(
      Array.from({ length: Number(row.lastSeq) }, (_, i) => BigInt(i + 1)),
    );
    expect(row.lastSeq).toBe(17n);
    for (const e of evs) expect(e.event.seq).toBe(e.seq);
    // Every message sits at the seq of an event of the matching kind.
    const byType = new Map(evs.map((e) => [e.seq, e.type]));
    const msgs = await env.prisma.message.findMany({
      where: { roomId: id },
      orderBy: { seq: "asc" },
    });
    const expected: Record<string, string[]> = {
      roomCreated: ["membersAdded"],
      membersJoined: ["membersAdded"],
      memberLeft: ["memberRemoved"],
      memberRemoved: ["memberRemoved"],
      roomRenamed: ["roomUpdated"],
      roomArchived: ["roomUpdated"],
      roleChanged: ["memberRoleChanged"],
    };
    let system = 0;
    for (const m of msgs) {
      if (m.kind !== "SYSTEM") {
        expect(byType.get(m.seq)).toBe("messageCreated");
        continue;
      }
      system += 1;
      const notice = fromBinary(SystemNoticeSchema, m.payload ?? new Uint8Array());
      expect(expected[notice.notice.case ?? ""]).toContain(byType.get(m.seq));
    }
    // All but the description update and the unban are in history.
    expect(system).toBe(15 - 2);
    const joined = await env.prisma.membership.count({ where: { roomId: id, state: "JOINED" } });
    expect(row.memberCount).toBe(joined);
    expect(row.memberCount).toBe(4);
  });
});

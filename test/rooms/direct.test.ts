// OpenDirect and CreateGroupDirect, including the race between both sides
// of a direct conversation, and a round over the real server.
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { RoomKind, Visibility } from "../../gen/chat/v1/room_pb.js";
import { httpTransport } from "../support/clients.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { startServer } from "../support/server.js";
import { newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

beforeAll(async () => {});

describe("OpenDirect", () => {
  it("creates the room once; the other side gets the same room", async () => {
    const [a, b] = await Promise.all([newUser(transport), newUser(transport)]);
    const first = await a.rooms.openDirect({ userId: b.id });
    expect(first.created).toBe(true);
    const room = first.room;
    expect([room?.kind, room?.visibility, room?.name, room?.memberCount, room?.lastSeq]).toEqual([
      RoomKind.DIRECT,
      Visibility.PRIVATE,
      "",
      2,
      1n,
    ]);
    const again = await b.rooms.openDirect({ userId: a.id });
    expect([again.room?.id, again.created]).toEqual([room?.id, false]);
    const pair = [a.id, b.id].sort((x, y) => (x < y ? -1 : 1));
    const row = await env.prisma.room.findUniqueOrThrow({ where: { id: room?.id ?? 0n } });
    expect(row.directKey).toBe(pair.join(":"));
    const members = await b.rooms.listMembers({ roomId: row.id });
    expect(members.members.map((m) => m.role)).toEqual([MemberRole.MEMBER, MemberRole.MEMBER]);
    expect((await b.rooms.getRoom({ roomId: row.id })).myRole).toBe(MemberRole.MEMBER);
  });

  it("returns one room to 10 concurrent calls from both sides", async () => {
    const [a, b] = await Promise.all([newUser(transport), newUser(transport)]);
    const calls = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0 ? a.rooms.openDirect({ userId: b.id }) : b.rooms.openDirect({ userId: a.id }),
    );
    const results = await Promise.all(calls);
    const ids = new Set(results.map((r) => r.room?.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const id = [...ids][0] ?? 0n;
    expect(
      await env.prisma.room.count({
        where: { kind: "DIRECT", memberships: { some: { userId: a.id } } },
      }),
    ).toBe(1);
    const row = await env.prisma.room.findUniqueOrThrow({ where: { id } });
    expect([row.lastSeq, row.memberCount]).toEqual([1n, 2]);
    expect(await env.prisma.roomEvent.count({ where: { roomId: id } })).toBe(1);
    expect(await env.prisma.message.count({ where: { roomId: id, kind: "SYSTEM", seq: 1n } })).toBe(
      1,
    );
  });

  it("rejects oneself and unknown users; a direct room cannot be left or moderated", async () => {
    const [a, b, c] = await Promise.all([
      newUser(transport),
      newUser(transport),
      newUser(transport),
    ]);
    const err = await expectCode(a.rooms.openDirect({ userId: a.id }), Code.InvalidArgument);
    expect(badFields(err)).toEqual(["user_id"]);
    await expectCode(a.rooms.openDirect({ userId: 987_654_321n }), Code.NotFound);
    await expectCode(a.rooms.openDirect({ userId: 0n }), Code.InvalidArgument);

    const { room } = await a.rooms.openDirect({ userId: b.id });
    const roomId = room?.id ?? 0n;
    const fp = Code.FailedPrecondition;
    await expectCode(a.rooms.leaveRoom({ roomId }), fp);
    await expectCode(a.rooms.updateRoom({ roomId, name: "x" }), fp);
    await expectCode(a.rooms.inviteMembers({ roomId, userIds: [c.id] }), fp);
    await expectCode(a.rooms.kickMember({ roomId, userId: b.id }), fp);
    await expectCode(a.rooms.banMember({ roomId, userId: b.id }), fp);
    await expectCode(a.rooms.setMemberRole({ roomId, userId: b.id, role: MemberRole.ADMIN }), fp);
    await expectCode(a.rooms.archiveRoom({ roomId }), fp);
    // Outsiders do not see it.
    await expectCode(c.rooms.getRoom({ roomId }), Code.NotFound);
    await expectCode(c.rooms.joinRoom({ roomId }), Code.NotFound);
    expect((await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } })).lastSeq).toBe(1n);
  });
});

describe("CreateGroupDirect", () => {
  it("creates a nameless private group with the caller as OWNER", async () => {
    const people = await Promise.all(Array.from({ length: 4 }, () => newUser(transport)));
    const [me, x, y, z] = people as [TestUser, TestUser, TestUser, TestUser];
    const { room } = await me.rooms.createGroupDirect({ userIds: [x.id, y.id] });
    expect([room?.kind, room?.visibility, room?.name, room?.memberCount, room?.lastSeq]).toEqual([
      RoomKind.GROUP_DIRECT,
      Visibility.PRIVATE,
      "",
      3,
      1n,
    ]);
    const roomId = room?.id ?? 0n;
    const ev = await env.prisma.roomEvent.findUniqueOrThrow({
      where: { roomId_seq: { roomId, seq: 1n } },
    });
    const change = fromBinary(RoomEventSchema, ev.payload).change;
    if (change.case !== "membersAdded") throw new Error("wrong event");
    expect(change.value.members.map((m) => [m.user?.id, m.role])).toEqual([
      [me.id, MemberRole.OWNER],
      [x.id, MemberRole.MEMBER],
      [y.id, MemberRole.MEMBER],
    ]);
    // Any member may invite into a group conversation.
    const inv = await x.rooms.inviteMembers({ roomId, userIds: [z.id] });
    expect(inv.added.map((m) => m.user?.id)).toEqual([z.id]);
    await expectCode(z.rooms.joinRoom({ roomId: 987_654_321n }), Code.NotFound);
  });

  it("caps a group at 10 members", async () => {
    const people = await Promise.all(Array.from({ length: 12 }, () => newUser(transport)));
    const [me, ...others] = people as [TestUser, ...TestUser[]];
    const { room } = await me.rooms.createGroupDirect({
      userIds: others.slice(0, 9).map((p) => p.id),
    });
    const roomId = room?.id ?? 0n;
    expect(room?.memberCount).toBe(10);
    const err = await expectCode(
      me.rooms.inviteMembers({ roomId, userIds: [others[9]?.id ?? 0n] }),
      Code.FailedPrecondition,
    );
    expect(err.message).toContain("at most 10");
    await others[0]?.rooms.leaveRoom({ roomId });
    await me.rooms.inviteMembers({ roomId, userIds: [others[9]?.id ?? 0n] });
    await expectCode(
      me.rooms.inviteMembers({ roomId, userIds: [others[10]?.id ?? 0n] }),
      Code.FailedPrecondition,
    );
    expect((await me.rooms.getRoom({ roomId })).room?.memberCount).toBe(10);
  });

  it("rejects bad participant lists, writing nothing", async () => {
    const [me, x, y] = await Promise.all([
      newUser(transport),
      newUser(transport),
      newUser(transport),
    ]);
    const before = await env.prisma.room.count();
    const cases: [bigint[], string][] = [
      [[x.id], "user_ids"], // too few
      [[x.id, x.id], "user_ids"], // not unique
      [[x.id, me.id], "user_ids"], // the caller
      [[x.id, 987_654_321n], "user_ids"], // unknown
    ];
    for (const [userIds, field] of cases) {
      const err = await expectCode(me.rooms.createGroupDirect({ userIds }), Code.InvalidArgument);
      expect(badFields(err)[0]).toBe(field);
    }
    expect(await env.prisma.room.count()).toBe(before);
    expect((await me.rooms.createGroupDirect({ userIds: [x.id, y.id] })).room?.memberCount).toBe(3);
  });
});

describe("over the real server", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await startServer(env));
  });

  it("creates, joins and lists rooms over HTTP/1.1 Connect", async () => {
    const http = httpTransport(url);
    const a = await newUser(http);
    const b = await newUser(http);
    const { room } = await a.rooms.createRoom({ name: "over http", visibility: Visibility.PUBLIC });
    const roomId = room?.id ?? 0n;
    expect((await b.rooms.joinRoom({ roomId })).room?.memberCount).toBe(2);
    const dm = await b.rooms.openDirect({ userId: a.id });
    expect(dm.created).toBe(true);
    const mine = await a.rooms.listMyRooms({});
    expect(mine.rooms.map((r) => r.room?.id)).toEqual([dm.room?.id, roomId]);
    const err = await expectCode(b.rooms.archiveRoom({ roomId }), Code.PermissionDenied);
    expect(err.message).toContain("only the owner");
    await expectCode(
      a.rooms.createRoom({ name: " ", visibility: Visibility.PUBLIC }),
      Code.InvalidArgument,
    );
  });
});

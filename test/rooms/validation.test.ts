// Bad input to every RoomService RPC: InvalidArgument naming the fields, and
// nothing written anywhere.
import { Code } from "@connectrpc/connect";
import { beforeAll, expect, it } from "vitest";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import { authed } from "../support/clients.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser } from "../support/users.js";

const { env, transport } = setupTestEnv();
let rooms: ReturnType<typeof authed<typeof RoomService>>;
let myId: bigint;
let otherId: bigint;
let roomId: bigint;

beforeAll(async () => {
  const me = await newUser(transport);
  const other = await newUser(transport);
  myId = me.user.id;
  otherId = other.user.id;
  rooms = authed(RoomService, transport, me.token);
  const res = await rooms.createRoom({
    name: "valid",
    visibility: Visibility.PUBLIC,
    memberIds: [otherId],
  });
  roomId = res.room?.id ?? 0n;
});

async function snapshot() {
  const p = env.prisma;
  return {
    rooms: await p.room.findMany({ orderBy: { id: "asc" } }),
    memberships: await p.membership.findMany({ orderBy: [{ roomId: "asc" }, { userId: "asc" }] }),
    events: await p.roomEvent.count(),
    messages: await p.message.count(),
  };
}

const ghost = 987_654_321n;
const cases: [string, () => Promise<unknown>, string[]][] = [
  [
    "CreateRoom blank name",
    () => rooms.createRoom({ name: " \t ", visibility: Visibility.PUBLIC }),
    ["name"],
  ],
  [
    "CreateRoom empty name",
    () => rooms.createRoom({ name: "", visibility: Visibility.PUBLIC }),
    ["name"],
  ],
  [
    "CreateRoom long description",
    () =>
      rooms.createRoom({ name: "a", description: "d".repeat(1001), visibility: Visibility.PUBLIC }),
    ["description"],
  ],
  ["CreateRoom no visibility", () => rooms.createRoom({ name: "a" }), ["visibility"]],
  [
    "CreateRoom unknown visibility",
    () => rooms.createRoom({ name: "a", visibility: 7 as Visibility }),
    ["visibility"],
  ],
  [
    "CreateRoom unknown member",
    () =>
      rooms.createRoom({ name: "a", visibility: Visibility.PUBLIC, memberIds: [otherId, ghost] }),
    ["member_ids"],
  ],
  [
    "CreateRoom member id 0",
    () => rooms.createRoom({ name: "a", visibility: Visibility.PUBLIC, memberIds: [0n] }),
    ["member_ids[0]"],
  ],
  [
    "CreateRoom too many members",
    () =>
      rooms.createRoom({
        name: "a",
        visibility: Visibility.PUBLIC,
        memberIds: Array.from({ length: 101 }, (_, i) => BigInt(i + 1)),
      }),
    ["member_ids"],
  ],
  ["GetRoom id 0", () => rooms.getRoom({ roomId: 0n }), ["room_id"]],
  ["UpdateRoom blank name", () => rooms.updateRoom({ roomId, name: "   " }), ["name"]],
  ["UpdateRoom long name", () => rooms.updateRoom({ roomId, name: "n".repeat(81) }), ["name"]],
  [
    "UpdateRoom long description",
    () => rooms.updateRoom({ roomId, description: "d".repeat(1001) }),
    ["description"],
  ],
  ["UpdateRoom id 0", () => rooms.updateRoom({ roomId: 0n, name: "x" }), ["room_id"]],
  ["ArchiveRoom id 0", () => rooms.archiveRoom({ roomId: 0n }), ["room_id"]],
  ["ListPublicRooms page size", () => rooms.listPublicRooms({ pageSize: -1 }), ["page_size"]],
  ["ListPublicRooms query", () => rooms.listPublicRooms({ query: "q".repeat(81) }), ["query"]],
  ["ListPublicRooms token", () => rooms.listPublicRooms({ pageToken: "abc" }), ["page_token"]],
  ["ListMyRooms page size", () => rooms.listMyRooms({ pageSize: 201 }), ["page_size"]],
  ["ListMyRooms token", () => rooms.listMyRooms({ pageToken: "MTp4" }), ["page_token"]],
  ["JoinRoom id 0", () => rooms.joinRoom({ roomId: 0n }), ["room_id"]],
  ["LeaveRoom id 0", () => rooms.leaveRoom({ roomId: 0n }), ["room_id"]],
  ["InviteMembers none", () => rooms.inviteMembers({ roomId, userIds: [] }), ["user_ids"]],
  ["InviteMembers unknown", () => rooms.inviteMembers({ roomId, userIds: [ghost] }), ["user_ids"]],
  ["InviteMembers id 0", () => rooms.inviteMembers({ roomId, userIds: [0n] }), ["user_ids[0]"]],
  ["KickMember self", () => rooms.kickMember({ roomId, userId: myId }), ["user_id"]],
  ["KickMember id 0", () => rooms.kickMember({ roomId, userId: 0n }), ["user_id"]],
  ["BanMember self", () => rooms.banMember({ roomId, userId: myId }), ["user_id"]],
  ["BanMember room 0", () => rooms.banMember({ roomId: 0n, userId: otherId }), ["room_id"]],
  ["UnbanMember id 0", () => rooms.unbanMember({ roomId, userId: 0n }), ["user_id"]],
  [
    "SetMemberRole no role",
    () => rooms.setMemberRole({ roomId, userId: otherId, role: MemberRole.UNSPECIFIED }),
    ["role"],
  ],
  [
    "SetMemberRole self",
    () => rooms.setMemberRole({ roomId, userId: myId, role: MemberRole.MEMBER }),
    ["user_id"],
  ],
  ["ListMembers page size", () => rooms.listMembers({ roomId, pageSize: 201 }), ["page_size"]],
  ["ListMembers token", () => rooms.listMembers({ roomId, pageToken: "!!" }), ["page_token"]],
  ["OpenDirect self", () => rooms.openDirect({ userId: myId }), ["user_id"]],
  ["OpenDirect id 0", () => rooms.openDirect({ userId: 0n }), ["user_id"]],
  [
    "CreateGroupDirect too few",
    () => rooms.createGroupDirect({ userIds: [otherId] }),
    ["user_ids"],
  ],
  [
    "CreateGroupDirect unknown",
    () => rooms.createGroupDirect({ userIds: [otherId, ghost] }),
    ["user_ids"],
  ],
  [
    "CreateGroupDirect self",
    () => rooms.createGroupDirect({ userIds: [otherId, myId] }),
    ["user_ids"],
  ],
];

it.each(cases)("%s: InvalidArgument, nothing written", async (_name, call, fields) => {
  const before = await snapshot();
  const err = await expectCode(call(), Code.InvalidArgument);
  expect(badFields(err)).toEqual(fields);
  expect(await snapshot()).toEqual(before);
});

it("the room is untouched after all of that", async () => {
  const row = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
  expect([row.name, row.description, row.lastSeq, row.memberCount]).toEqual(["valid", "", 1n, 2]);
  expect(await env.prisma.room.count()).toBe(1);
});

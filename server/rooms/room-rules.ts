/**
 * Building blocks of RoomService changes: who may act, how members enter and
 * leave, and how one change records its event and (for changes users see in
 * history) its SYSTEM message at the same sequence number.
 *
 * One change = one sequence number. The RoomEvent at that number is the
 * membership/room event (members_added, member_removed, ...); the SYSTEM
 * message row, when there is one, is the history view of the same change and
 * carries the same `seq`.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type MemberRemoved_Reason,
  MemberRemovedSchema,
  MembersAddedSchema,
  RoomUpdatedSchema,
} from "../../gen/chat/v1/event_pb.js";
import { type SystemNotice, SystemNoticeSchema } from "../../gen/chat/v1/message_pb.js";
import type { Member } from "../../gen/chat/v1/room_pb.js";
import type { $Enums, PrismaClient } from "../../prisma/generated/client.js";
import { invalidArgument } from "../errors.js";
import { type UserRow, userSelect } from "../services/convert.js";
import { decodePageToken, encodePageToken } from "../services/page-token.js";
import { type MembershipRow, membershipOf, requireNotArchived, roomNotFound } from "./access.js";
import { type RoomRow, roleRank, roomSelect, toRoom } from "./convert.js";
import { encodeSystemNotice } from "./message-view.js";
import type { LockedRoom, RoomChange, Tx } from "./room-writer.js";

/** Rooms of kind GROUP_DIRECT hold at most this many members. */
export const maxGroupDirectMembers = 10;

/** `FailedPrecondition` with a message saying what to do instead. */
export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

/**
 * The caller acting on a room inside a change, checked in this order:
 * not visible (private and not a member, or banned): NotFound; archived:
 * FailedPrecondition (unless `allowArchived`); not a member (public room):
 * PermissionDenied.
 */
export async function actingMember(
  c: RoomChange,
  userId: bigint,
  opts: { allowArchived?: boolean } = {},
): Promise<MembershipRow> {
  const m = await membershipOf(c.tx, c.room.id, userId);
  if (!visible(c.room, m)) throw roomNotFound();
  if (!opts.allowArchived) requireNotArchived(c.room);
  if (m?.state !== "JOINED") {
    throw new ConnectError("join the room first: only members can do this", Code.PermissionDenied);
  }
  return m;
}

/** Same rule as access.ts: banned users never see a room; private rooms only members. */
export function visible(room: Pick<LockedRoom, "visibility">, m: MembershipRow | null): boolean {
  if (m?.state === "BANNED") return false;
  return room.visibility === "PUBLIC" || m?.state === "JOINED";
}

/** DIRECT rooms have exactly their two members and nothing to moderate. */
export function rejectDirect(room: Pick<LockedRoom, "kind">, what: string): void {
  if (room.kind === "DIRECT") {
    throw failedPrecondition(`direct conversations cannot ${what}`);
  }
}

/** A moderator acts only on members ranked strictly below them. */
export function requireOutranks(actor: MembershipRow, target: MembershipRow, what: string): void {
  if (roleRank[actor.role] <= roleRank[target.role]) {
    throw new ConnectError(
      `you can only ${what} members with a lower role than yours`,
      Code.PermissionDenied,
    );
  }
}

/** Ids in first-seen order without duplicates. */
export function uniqueIds(ids: readonly bigint[]): bigint[] {
  return [...new Set(ids)];
}

/** Loads users by id; missing ones are absent from the map. */
export async function loadUsers(
  db: PrismaClient | Tx,
  ids: readonly bigint[],
): Promise<Map<bigint, UserRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.user.findMany({ where: { id: { in: [...ids] } }, select: userSelect });
  return new Map(rows.map((u) => [u.id, u]));
}

/** InvalidArgument on `field` when some of `ids` are not users. */
export function requireKnown(ids: readonly bigint[], users: Map<bigint, UserRow>, field: string) {
  const unknown = ids.filter((id) => !users.has(id));
  if (unknown.length > 0) {
    throw invalidArgument([{ field, description: `no such users: ${unknown.join(", ")}` }]);
  }
}

/** The user row, or the account vanished under a valid token. */
export function requireUser(users: Map<bigint, UserRow>, id: bigint): UserRow {
  const u = users.get(id);
  if (!u) throw new ConnectError(`user ${id} not found`, Code.NotFound);
  return u;
}

/**
 * Makes users current members as of `seq`: new rows for first-timers, the
 * old row revived (role reset) for users who left or were kicked. The read
 * marker starts at `seq`, so history from before joining is not unread.
 * Keeps rooms.member_count right.
 */
export async function admitMembers(
  c: RoomChange,
  seq: bigint,
  members: readonly { userId: bigint; role: $Enums.MemberRole }[],
  haveRow: ReadonlySet<bigint>,
): Promise<void> {
  if (members.length === 0) return;
  const joined = {
    state: "JOINED" as const,
    joinedAt: c.now,
    joinedSeq: seq,
    lastReadSeq: seq,
    updatedAt: c.now,
  };
  const fresh = members.filter((m) => !haveRow.has(m.userId));
  if (fresh.length > 0) {
    await c.tx.membership.createMany({
      data: fresh.map((m) => ({ roomId: c.room.id, userId: m.userId, role: m.role, ...joined })),
    });
  }
  const back = members.filter((m) => haveRow.has(m.userId));
  for (const role of ["MEMBER", "ADMIN", "OWNER"] as const) {
    const ids = back.filter((m) => m.role === role).map((m) => m.userId);
    if (ids.length === 0) continue;
    await c.tx.membership.updateMany({
      where: { roomId: c.room.id, userId: { in: ids } },
      data: { role, ...joined },
    });
  }
  await c.tx.room.update({
    where: { id: c.room.id },
    data: { memberCount: { increment: members.length } },
  });
}

/** Ends a current membership (left, kicked or banned); keeps member_count right. */
export async function dismissMember(
  c: RoomChange,
  userId: bigint,
  state: "LEFT" | "KICKED" | "BANNED",
): Promise<void> {
  await c.tx.membership.update({
    where: { roomId_userId: { roomId: c.room.id, userId } },
    data: { state, updatedAt: c.now },
  });
  await c.tx.room.update({
    where: { id: c.room.id },
    data: { memberCount: { decrement: 1 } },
  });
}

/** The members_added change. */
export function membersAdded(members: Member[]) {
  return { case: "membersAdded" as const, value: create(MembersAddedSchema, { members }) };
}

/** The member_removed change. */
export function memberRemoved(userId: bigint, reason: MemberRemoved_Reason) {
  return { case: "memberRemoved" as const, value: create(MemberRemovedSchema, { userId, reason }) };
}

/** The room_updated change. */
export function roomUpdated(room: RoomRow) {
  return { case: "roomUpdated" as const, value: create(RoomUpdatedSchema, { room: toRoom(room) }) };
}

/**
 * Stores the SYSTEM message of a change at the change's own `seq` (the event
 * at that seq is the membership/room event itself).
 */
export async function systemMessage(
  c: RoomChange,
  seq: bigint,
  actorId: bigint,
  notice: SystemNotice["notice"],
): Promise<void> {
  const payload = encodeSystemNotice(create(SystemNoticeSchema, { notice, actorId }));
  await c.tx.message.create({
    data: {
      roomId: c.room.id,
      seq,
      senderId: null,
      kind: "SYSTEM",
      text: "",
      payload,
      createdAt: c.now,
    },
  });
}

/**
 * The room as it will be once this change commits: the writer stores
 * last_seq and last_activity_at only after the callback, so they are set here
 * from the change's last sequence number.
 */
export async function roomAfter(c: RoomChange, lastSeq?: bigint): Promise<RoomRow> {
  const row = await c.tx.room.findUniqueOrThrow({ where: { id: c.room.id }, select: roomSelect });
  return lastSeq === undefined ? row : { ...row, lastSeq, lastActivityAt: c.now };
}

/** The unique key of the direct room between two users: "<low>:<high>". */
export function directKey(a: bigint, b: bigint): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/** Escapes LIKE wildcards with MySQL's default escape character. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function badToken(): ConnectError {
  return invalidArgument([
    { field: "page_token", description: "is not a page token returned by this API" },
  ]);
}

/** Page cursor over (name, id): ListPublicRooms. */
export function encodeNameCursor(name: string, id: bigint): string {
  return encodePageToken(JSON.stringify(["n", name, id.toString()]));
}

/** Decodes {@link encodeNameCursor}; empty token: first page. */
export function decodeNameCursor(token: string): { name: string; id: bigint } | undefined {
  const text = decodePageToken(token);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      v[0] === "n" &&
      typeof v[1] === "string" &&
      typeof v[2] === "string" &&
      /^\d{1,20}$/.test(v[2])
    ) {
      return { name: v[1], id: BigInt(v[2]) };
    }
  } catch {
    // fall through
  }
  throw badToken();
}

/** Page cursor over (time, id): ListMyRooms and ListMembers. */
export function encodeTimeCursor(time: Date, id: bigint): string {
  return encodePageToken(`t:${time.getTime()}:${id}`);
}

/** Decodes {@link encodeTimeCursor}; empty token: first page. */
export function decodeTimeCursor(token: string): { time: Date; id: bigint } | undefined {
  const text = decodePageToken(token);
  if (text === undefined) return undefined;
  const m = /^t:(\d{1,15}):(\d{1,20})$/.exec(text);
  if (!m?.[1] || !m[2]) throw badToken();
  return { time: new Date(Number(m[1])), id: BigInt(m[2]) };
}

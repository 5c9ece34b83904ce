/**
 * The first round trip of a send batch (send-batch.ts): lock the batch's
 * rooms, then read everything the calls are judged by. The rooms are locked
 * in one statement in ascending id order, so two batches never deadlock each
 * other; the reads follow the lock on the same connection, so under READ
 * COMMITTED they see every change committed before it.
 */
import { readStatements, toMembership, toParent } from "../../store/sql/send.js";
import { lockUploads, toUploadRow, type UploadRow } from "../../store/sql/uploads.js";
import type { SqlTx } from "../../store/tx.js";
import type { MembershipRow } from "../access.js";
import type { ReplyParentRow } from "../message-view.js";
import type { LockedRoom } from "../room-change.js";

/** What a batch needs of each call to read its facts. */
export interface ReadRequest {
  roomId: bigint;
  senderId: bigint;
  clientMsgId: string;
  replyToId: bigint;
  /** `@name` spellings per mention (mentionCandidates in mentions.ts). */
  mentions: string[][];
  /** The thread replied in (0n or absent: none). */
  threadRootId?: bigint;
  /** Uploads to attach (locked with the rooms). */
  attachmentIds?: readonly bigint[];
}

/** A locked room as the checks need it. */
type LockedRoomState = Pick<LockedRoom, "visibility" | "lastSeq" | "archivedAt"> & {
  /** Slow mode of the room (0: off). */
  slowModeSeconds: number;
};

/** A reply parent, any room. */
export type ReplyParent = ReplyParentRow & { roomId: bigint; threadRootId: bigint | null };

/** Everything read under the locks, as lookups. */
export interface BatchFacts {
  /** Undefined: no such room, or {@link busy}. */
  room(roomId: bigint): LockedRoomState | undefined;
  /** The room exists but another transaction holds its lock: nothing of it was read. */
  busy(roomId: bigint): boolean;
  /** The sender's membership row (any state), or null. */
  membership(roomId: bigint, userId: bigint): MembershipRow | null;
  /** When the sender last sent in the room while it had slow mode on, or null. */
  lastSent(roomId: bigint, userId: bigint): Date | null;
  /** Until when the sender is muted in the room, or null. */
  mutedUntil(roomId: bigint, userId: bigint): Date | null;
  /** In a direct conversation, the one of the two who blocked the other, or null. */
  blockedBy(roomId: bigint, userId: bigint): bigint | null;
  /** The message already stored under this idempotency key. */
  storedId(roomId: bigint, senderId: bigint, clientMsgId: string): bigint | undefined;
  replyParent(messageId: bigint): ReplyParent | undefined;
  /**
   * Ids of the current members that the spellings name, ascending, as
   * resolveMentions (mentions.ts) decides: per `@name`, the longest
   * spelling that names a member wins.
   */
  mentioned(roomId: bigint, spellings: string[][]): bigint[];
  /** An upload named by a call of the batch, as locked. */
  upload(id: bigint): UploadRow | undefined;
}

/** The idempotency key as the database compares it (case-insensitive collation). */
export function sendKey(senderId: bigint, clientMsgId: string): string {
  return `${senderId}:${clientMsgId.toLowerCase()}`;
}

const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];
const big = (v: unknown) => BigInt(v as bigint);

/** Locks the rooms of `reqs` and reads their facts: one round trip. */
export async function lockAndRead(tx: SqlTx, reqs: readonly ReadRequest[]): Promise<BatchFacts> {
  const byRoom = new Map<bigint, ReadRequest[]>();
  for (const r of reqs) {
    const list = byRoom.get(r.roomId);
    if (list) list.push(r);
    else byRoom.set(r.roomId, [r]);
  }
  const roomIds = [...byRoom.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Thread roots are read like reply parents (same columns, same statement).
  const replyIds = unique(
    reqs.flatMap((r) => [
      ...(r.replyToId === 0n ? [] : [r.replyToId]),
      ...(r.threadRootId ? [r.threadRootId] : []),
    ]),
  );
  const uploadIds = unique(reqs.flatMap((r) => r.attachmentIds ?? []));
  const stmts = readStatements(byRoom, roomIds, replyIds);
  // The uploads are locked after the rooms, in ascending id order, like every batch.
  const list = uploadIds.length > 0 ? [...stmts.list, lockUploads(uploadIds)] : stmts.list;
  const [roomRows = [], existingRows = [], memberRows = [], keyRows = [], ...optional] =
    await tx.run(list);
  const parentRows = stmts.parents ? (optional.shift() ?? []) : [];
  const mentionRows = stmts.mentions ? (optional.shift() ?? []) : [];
  const uploadRows = uploadIds.length > 0 ? (optional.shift() ?? []) : [];
  const uploads = new Map(uploadRows.map((r) => [big(r.id), toUploadRow(r)]));

  const rooms = new Map<bigint, LockedRoomState>(
    roomRows.map((r) => [
      big(r.id),
      {
        visibility: r.visibility as "PUBLIC" | "PRIVATE",
        lastSeq: big(r.lastSeq),
        archivedAt: (r.archivedAt ?? null) as Date | null,
        slowModeSeconds: Number(r.slowModeSeconds ?? 0),
      },
    ]),
  );
  const busy = new Set(existingRows.map((r) => big(r.id)).filter((id) => !rooms.has(id)));
  const members = new Map(
    memberRows.map((m) => [`${big(m.roomId)}:${big(m.userId)}`, toMembership(m)]),
  );
  const lastSent = new Map(
    memberRows.map((m) => [
      `${big(m.roomId)}:${big(m.userId)}`,
      (m.lastSentAt ?? null) as Date | null,
    ]),
  );
  const muted = new Map(
    memberRows.map((m) => [
      `${big(m.roomId)}:${big(m.userId)}`,
      (m.mutedUntil ?? null) as Date | null,
    ]),
  );
  const blocked = new Map(
    memberRows
      .filter((m) => m.blockedBy !== null && m.blockedBy !== undefined)
      .map((m) => [`${big(m.roomId)}:${big(m.userId)}`, big(m.blockedBy)]),
  );
  const stored = new Map(
    keyRows.map((k) => [
      `${big(k.roomId)}:${sendKey(big(k.senderId), String(k.clientMsgId))}`,
      big(k.id),
    ]),
  );
  const parents = new Map(parentRows.map((p) => [big(p.id), toParent(p)]));
  const byName = new Map(
    mentionRows.map((u) => [`${big(u.roomId)}:${String(u.usernameKey).toLowerCase()}`, big(u.id)]),
  );
  return {
    room: (roomId) => rooms.get(roomId),
    busy: (roomId) => busy.has(roomId),
    membership: (roomId, userId) => members.get(`${roomId}:${userId}`) ?? null,
    lastSent: (roomId, userId) => lastSent.get(`${roomId}:${userId}`) ?? null,
    mutedUntil: (roomId, userId) => muted.get(`${roomId}:${userId}`) ?? null,
    blockedBy: (roomId, userId) => blocked.get(`${roomId}:${userId}`) ?? null,
    storedId: (roomId, senderId, key) => stored.get(`${roomId}:${sendKey(senderId, key)}`),
    replyParent: (id) => parents.get(id),
    upload: (id) => uploads.get(id),
    mentioned(roomId, spellings) {
      const ids = new Set<bigint>();
      for (const names of spellings) {
        const id = names.map((n) => byName.get(`${roomId}:${n}`)).find((x) => x !== undefined);
        if (id !== undefined) ids.add(id);
      }
      return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    },
  };
}

/**
 * The first round trip of a send batch (send-batch.ts): lock the batch's
 * rooms, then read everything the calls are judged by. The rooms are locked
 * in one statement in ascending id order, so two batches never deadlock each
 * other; the reads follow the lock on the same connection, so under READ
 * COMMITTED they see every change committed before it.
 */
import type { $Enums } from "../../prisma/generated/client.js";
import type { MembershipRow } from "./access.js";
import type { ReplyParentRow } from "./message-view.js";
import type { Row, SqlTx, Stmt } from "./sql-tx.js";

/** What a batch needs of each call to read its facts. */
export interface ReadRequest {
  roomId: bigint;
  senderId: bigint;
  clientMsgId: string;
  replyToId: bigint;
  /** `@name` spellings per mention (mentionCandidates in mentions.ts). */
  mentions: string[][];
}

/** A locked room as the checks need it. */
export interface LockedRoomState {
  visibility: "PUBLIC" | "PRIVATE";
  lastSeq: bigint;
  archivedAt: Date | null;
}

/** A reply parent, any room. */
export type ReplyParent = ReplyParentRow & { roomId: bigint };

/** Everything read under the locks, as lookups. */
export interface BatchFacts {
  /** Undefined: no such room. */
  room(roomId: bigint): LockedRoomState | undefined;
  /** The sender's membership row (any state), or null. */
  membership(roomId: bigint, userId: bigint): MembershipRow | null;
  /** The message already stored under this idempotency key. */
  storedId(roomId: bigint, senderId: bigint, clientMsgId: string): bigint | undefined;
  replyParent(messageId: bigint): ReplyParent | undefined;
  /**
   * Ids of the current members that the spellings name, ascending, as
   * resolveMentions (mentions.ts) decides: per `@name`, the longest
   * spelling that names a member wins.
   */
  mentioned(roomId: bigint, spellings: string[][]): bigint[];
}

/** The idempotency key as the database compares it (case-insensitive collation). */
export function sendKey(senderId: bigint, clientMsgId: string): string {
  return `${senderId}:${clientMsgId.toLowerCase()}`;
}

const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];
const qs = (n: number) => Array.from({ length: n }, () => "?").join(",");
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
  const replyIds = unique(reqs.flatMap((r) => (r.replyToId === 0n ? [] : [r.replyToId])));
  const stmts = readStatements(byRoom, roomIds, replyIds);
  const [roomRows = [], memberRows = [], keyRows = [], ...optional] = await tx.run(stmts.list);
  const parentRows = stmts.parents ? (optional.shift() ?? []) : [];
  const mentionRows = stmts.mentions ? (optional.shift() ?? []) : [];

  const rooms = new Map<bigint, LockedRoomState>(
    roomRows.map((r) => [
      big(r.id),
      {
        visibility: r.visibility as "PUBLIC" | "PRIVATE",
        lastSeq: big(r.lastSeq),
        archivedAt: (r.archivedAt ?? null) as Date | null,
      },
    ]),
  );
  const members = new Map(
    memberRows.map((m) => [`${big(m.roomId)}:${big(m.userId)}`, toMembership(m)]),
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
    membership: (roomId, userId) => members.get(`${roomId}:${userId}`) ?? null,
    storedId: (roomId, senderId, key) => stored.get(`${roomId}:${sendKey(senderId, key)}`),
    replyParent: (id) => parents.get(id),
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

/**
 * The locks, then the reads. Conditions are per room (`room_id = ? AND
 * ...`), OR-ed: index ranges, not a cross product of every room with every
 * sender.
 */
function readStatements(
  byRoom: Map<bigint, ReadRequest[]>,
  roomIds: bigint[],
  replyIds: bigint[],
): { list: Stmt[]; parents: boolean; mentions: boolean } {
  const memberConds: string[] = [];
  const memberParams: unknown[] = [];
  const keyConds: string[] = [];
  const keyParams: unknown[] = [];
  const nameSelects: string[] = [];
  const nameParams: unknown[] = [];
  for (const roomId of roomIds) {
    const mine = byRoom.get(roomId) ?? [];
    const senders = unique(mine.map((r) => r.senderId));
    const keys = unique(mine.map((r) => r.clientMsgId));
    memberConds.push(`(room_id = ? AND user_id IN (${qs(senders.length)}))`);
    memberParams.push(roomId, ...senders);
    // A superset (any sender x any key of the room), matched exactly by storedId.
    keyConds.push(
      `(room_id = ? AND sender_id IN (${qs(senders.length)}) AND client_msg_id IN (${qs(keys.length)}))`,
    );
    keyParams.push(roomId, ...senders, ...keys);
    const names = unique(mine.flatMap((r) => r.mentions.flat()));
    if (names.length > 0) {
      // One SELECT per room, an index lookup per name (an OR across rooms
      // would make the server scan the rooms' members instead).
      nameSelects.push(
        `SELECT m.room_id AS roomId, u.id, u.username_key AS usernameKey FROM users u
         JOIN memberships m ON m.user_id = u.id AND m.room_id = ? AND m.state = 'JOINED'
         WHERE u.username_key IN (${qs(names.length)})`,
      );
      nameParams.push(roomId, ...names);
    }
  }
  const list: Stmt[] = [
    {
      sql: `SELECT id, visibility, last_seq AS lastSeq, archived_at AS archivedAt FROM rooms
            WHERE id IN (${qs(roomIds.length)}) ORDER BY id FOR UPDATE`,
      params: roomIds,
    },
    {
      sql: `SELECT room_id AS roomId, user_id AS userId, role, state,
              last_read_seq AS lastReadSeq, joined_at AS joinedAt
            FROM memberships WHERE ${memberConds.join(" OR ")}`,
      params: memberParams,
    },
    {
      sql: `SELECT id, room_id AS roomId, sender_id AS senderId, client_msg_id AS clientMsgId
            FROM messages WHERE ${keyConds.join(" OR ")}`,
      params: keyParams,
    },
  ];
  if (replyIds.length > 0) {
    list.push({
      sql: `SELECT id, room_id AS roomId, seq, sender_id AS senderId, text, deleted_at AS deletedAt
            FROM messages WHERE id IN (${qs(replyIds.length)})`,
      params: replyIds,
    });
  }
  if (nameSelects.length > 0)
    list.push({ sql: nameSelects.join(" UNION ALL "), params: nameParams });
  return { list, parents: replyIds.length > 0, mentions: nameSelects.length > 0 };
}

function toMembership(m: Row): MembershipRow {
  return {
    role: m.role as $Enums.MemberRole,
    state: m.state as $Enums.MembershipState,
    lastReadSeq: big(m.lastReadSeq),
    joinedAt: m.joinedAt as Date,
  };
}

function toParent(p: Row): ReplyParent {
  return {
    id: big(p.id),
    roomId: big(p.roomId),
    seq: big(p.seq),
    senderId: p.senderId === null ? null : big(p.senderId),
    text: String(p.text),
    deletedAt: (p.deletedAt ?? null) as Date | null,
  };
}

/**
 * The SQL of a send batch (domain/send/): the locks and reads of its first
 * round trip and the row mappers of what they return. Raw and measured:
 * one multi-statement round trip where Prisma would make one per query.
 * The statements of its writes are in {@link insertStatements}.
 */
import type { $Enums } from "../prisma.js";
import { placeholders, type Row, type Stmt } from "../tx.js";
import type { MembershipRow, ReplyParentRow } from "./rows.js";

/** What the reads need of each call of a batch. */
export interface SendKeyRequest {
  senderId: bigint;
  clientMsgId: string;
  /** `@name` spellings per mention. */
  mentions: string[][];
}

const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];
const qs = (n: number) => Array.from({ length: n }, () => "?").join(",");
const big = (v: unknown) => BigInt(v as bigint);

/**
 * The locks, then the reads. Conditions are per room (`room_id = ? AND
 * ...`), OR-ed: index ranges, not a cross product of every room with every
 * sender.
 */
export function readStatements(
  byRoom: Map<bigint, readonly SendKeyRequest[]>,
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
      // SKIP LOCKED: a room another transaction holds (another instance's
      // batch, or one of a frozen process) is left out rather than waited
      // for, so it cannot hold up the batch's other rooms; its sends are
      // deferred (domain/send/send-batcher.ts).
      sql: `SELECT id, visibility, last_seq AS lastSeq, archived_at AS archivedAt,
              slow_mode_seconds AS slowModeSeconds FROM rooms
            WHERE id IN (${qs(roomIds.length)}) ORDER BY id FOR UPDATE SKIP LOCKED`,
      params: roomIds,
    },
    {
      // Which of them exist: a room missing from the lock is busy, not gone.
      sql: `SELECT id FROM rooms WHERE id IN (${qs(roomIds.length)})`,
      params: roomIds,
    },
    {
      // blockedBy: in a direct conversation, whichever of the two blocked
      // the other (moderation/blocks.ts). Other rooms stop at the kind test
      // of a primary-key lookup, so the hot path pays next to nothing.
      sql: `SELECT room_id AS roomId, user_id AS userId, role, state,
              last_read_seq AS lastReadSeq, joined_at AS joinedAt, last_sent_at AS lastSentAt,
              muted_until AS mutedUntil,
              (SELECT b.blocker_id FROM rooms r
                 JOIN memberships o ON o.room_id = r.id AND o.user_id <> m.user_id
                 JOIN user_blocks b ON (b.blocker_id = m.user_id AND b.blocked_id = o.user_id)
                   OR (b.blocker_id = o.user_id AND b.blocked_id = m.user_id)
               WHERE r.id = m.room_id AND r.kind = 'DIRECT' LIMIT 1) AS blockedBy
            FROM memberships m WHERE ${memberConds.join(" OR ")}`,
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
              , thread_root_id AS threadRootId
            FROM messages WHERE id IN (${qs(replyIds.length)})`,
      params: replyIds,
    });
  }
  if (nameSelects.length > 0)
    list.push({ sql: nameSelects.join(" UNION ALL "), params: nameParams });
  return { list, parents: replyIds.length > 0, mentions: nameSelects.length > 0 };
}

export function toMembership(m: Row): MembershipRow {
  return {
    role: m.role as $Enums.MemberRole,
    state: m.state as $Enums.MembershipState,
    lastReadSeq: big(m.lastReadSeq),
    joinedAt: m.joinedAt as Date,
  };
}

export function toParent(p: Row): ReplyParentRow & { roomId: bigint; threadRootId: bigint | null } {
  return {
    id: big(p.id),
    roomId: big(p.roomId),
    threadRootId:
      p.threadRootId === null || p.threadRootId === undefined ? null : big(p.threadRootId),
    seq: big(p.seq),
    senderId: p.senderId === null ? null : big(p.senderId),
    text: String(p.text),
    deletedAt: (p.deletedAt ?? null) as Date | null,
  };
}

/** A message row to insert (its id comes from the database). */
export interface NewMessageRow {
  roomId: bigint;
  seq: bigint;
  senderId: bigint | null;
  clientMsgId: string | null;
  kind: $Enums.MessageKind;
  text: string;
  payload: Uint8Array | null;
  replyToId: bigint | null;
  /** Search tokens of the text (domain/search/search-tokens.ts); null or absent: not searchable. */
  searchTokens?: string | null;
  /** The thread's root for a thread reply (issue 16). */
  threadRootId: bigint | null;
}

/** One multi-row INSERT of messages; `at` is a DATETIME(3) literal (sqlDateTime). */
export function insertMessages(rows: readonly NewMessageRow[], at: string): Stmt {
  return {
    sql: `INSERT INTO messages (room_id, seq, sender_id, client_msg_id, kind, text, payload,
            reply_to_id, created_at, search_tokens, thread_root_id) VALUES ${placeholders(rows.length, 11)}`,
    params: rows.flatMap((r) => [
      r.roomId,
      r.seq,
      r.senderId,
      r.clientMsgId,
      r.kind,
      r.text,
      r.payload === null ? null : toBuffer(r.payload),
      r.replyToId,
      at,
      r.searchTokens ?? null,
      r.threadRootId,
    ]),
  };
}

/**
 * The ids of the messages in (after, upTo] of each room: by sequence,
 * portable whatever the auto-increment lock mode hands out.
 */
export function messageIdsBySeq(
  ranges: readonly { roomId: bigint; after: bigint; upTo: bigint }[],
): Stmt {
  return {
    sql: `SELECT room_id AS roomId, seq, id FROM messages WHERE ${ranges
      .map(() => "(room_id = ? AND seq > ? AND seq <= ?)")
      .join(" OR ")}`,
    params: ranges.flatMap((r) => [r.roomId, r.after, r.upTo]),
  };
}

/** Rows of {@link messageIdsBySeq} as `"<roomId>:<seq>"` to id. */
export function idsBySeq(rows: readonly Row[]): Map<string, bigint> {
  return new Map(rows.map((r) => [`${big(r.roomId)}:${big(r.seq)}`, big(r.id)]));
}

/** A room_events row to insert. */
export interface NewEventRow {
  roomId: bigint;
  seq: bigint;
  /** The RoomEvent oneof case, for humans reading SQL. */
  type: string;
  actorId: bigint | null;
  payload: Uint8Array;
}

/** One multi-row INSERT of room events. */
export function insertEvents(rows: readonly NewEventRow[], at: string): Stmt {
  return {
    sql: `INSERT INTO room_events (room_id, seq, type, actor_id, payload, created_at)
          VALUES ${placeholders(rows.length, 6)}`,
    params: rows.flatMap((r) => [r.roomId, r.seq, r.type, r.actorId, toBuffer(r.payload), at]),
  };
}

/** Every room's new counters in one statement (one per room costs the server a parse each). */
export function advanceRooms(
  rooms: readonly { roomId: bigint; lastSeq: bigint; lastMessageId: bigint }[],
  at: string,
): Stmt {
  return {
    sql: `UPDATE rooms SET
            last_seq = CASE id ${rooms.map(() => "WHEN ? THEN ?").join(" ")} END,
            last_message_id = CASE id ${rooms.map(() => "WHEN ? THEN ?").join(" ")} END,
            last_activity_at = ?
          WHERE id IN ${placeholders(1, rooms.length)}`,
    params: [
      ...rooms.flatMap((r) => [r.roomId, r.lastSeq]),
      ...rooms.flatMap((r) => [r.roomId, r.lastMessageId]),
      at,
      ...rooms.map((r) => r.roomId),
    ],
  };
}

/** Slow mode's clock: when each sender last sent in a room that has slow mode on. */
export function touchLastSent(
  rows: readonly { roomId: bigint; userId: bigint }[],
  at: string,
): Stmt {
  return {
    sql: `UPDATE memberships SET last_sent_at = ?
          WHERE (room_id, user_id) IN (${rows.map(() => "(?, ?)").join(", ")})`,
    params: [at, ...rows.flatMap((r) => [r.roomId, r.userId])],
  };
}

/** One multi-row INSERT of mentions. */
export function insertMentions(
  rows: readonly { messageId: bigint; userId: bigint; roomId: bigint; seq: bigint }[],
): Stmt {
  return {
    sql: `INSERT INTO mentions (message_id, user_id, room_id, seq)
          VALUES ${placeholders(rows.length, 4)}`,
    params: rows.flatMap((r) => [r.messageId, r.userId, r.roomId, r.seq]),
  };
}

/** The drivers bind Buffers as binary; a plain Uint8Array is not one. */
function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

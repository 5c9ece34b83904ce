/**
 * Unread and mention counts after read markers, computed from history (never
 * a stored counter, so edits, deletions and concurrent sends can't make them
 * drift). Two grouped queries for any number of rooms.
 *
 * - unread: TEXT and CUSTOM messages after the marker, not sent by the user,
 *   not deleted. SYSTEM messages never count.
 * - mentions: the user's mention rows after the marker whose message is not
 *   deleted and was not sent by the user themself.
 */
import { Prisma, type PrismaClient } from "../../prisma/generated/client.js";
import type { Tx } from "./room-writer.js";

/** A room and the user's read marker in it. */
export interface ReadMarker {
  roomId: bigint;
  lastReadSeq: bigint;
}

/** Counts of one room. */
export interface UnreadCounts {
  unread: number;
  mentions: number;
}

interface CountRow {
  roomId: bigint | number;
  n: bigint | number;
}

/**
 * Counts per room for `userId`; every room of `markers` is in the result
 * (zeros when nothing is unread).
 */
export async function unreadCounts(
  db: PrismaClient | Tx,
  userId: bigint,
  markers: ReadMarker[],
): Promise<Map<bigint, UnreadCounts>> {
  const out = new Map<bigint, UnreadCounts>();
  if (markers.length === 0) return out;
  for (const m of markers) out.set(m.roomId, { unread: 0, mentions: 0 });
  // One (room_id = ? AND seq > ?) range per room: each is a range scan of
  // the unique (room_id, seq) index, resp. the (user_id, room_id, seq) index.
  const messageRanges = Prisma.join(
    markers.map((m) => Prisma.sql`(m.room_id = ${m.roomId} AND m.seq > ${m.lastReadSeq})`),
    " OR ",
  );
  const mentionRanges = Prisma.join(
    markers.map((m) => Prisma.sql`(n.room_id = ${m.roomId} AND n.seq > ${m.lastReadSeq})`),
    " OR ",
  );
  const unread = await db.$queryRaw<CountRow[]>`
    SELECT m.room_id AS roomId, COUNT(*) AS n
    FROM messages m
    WHERE (${messageRanges})
      AND m.kind IN ('TEXT', 'CUSTOM')
      AND m.deleted_at IS NULL
      AND (m.sender_id IS NULL OR m.sender_id <> ${userId})
    GROUP BY m.room_id`;
  const mentions = await db.$queryRaw<CountRow[]>`
    SELECT n.room_id AS roomId, COUNT(*) AS n
    FROM mentions n
    JOIN messages m ON m.id = n.message_id
    WHERE n.user_id = ${userId}
      AND (${mentionRanges})
      AND m.deleted_at IS NULL
      AND (m.sender_id IS NULL OR m.sender_id <> ${userId})
    GROUP BY n.room_id`;
  for (const r of unread) {
    const c = out.get(BigInt(r.roomId));
    if (c) c.unread = Number(r.n);
  }
  for (const r of mentions) {
    const c = out.get(BigInt(r.roomId));
    if (c) c.mentions = Number(r.n);
  }
  return out;
}

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
import type { PrismaClient } from "../store/prisma.js";
import { unreadAndMentions } from "../store/sql/counts.js";
import type { Tx } from "./room-change.js";

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
  const counts = await unreadAndMentions(db, userId, markers);
  for (const [roomId, c] of out) {
    c.unread = counts.unread.get(roomId) ?? 0;
    c.mentions = counts.mentions.get(roomId) ?? 0;
  }
  return out;
}

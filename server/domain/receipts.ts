/**
 * Read receipts: how far each member has read a room, derived from the read
 * markers (memberships.last_read_seq) MarkRead moves; nothing else is
 * stored but each user's privacy setting (users.hide_read_receipts).
 *
 * Privacy is not reciprocal: hiding one's own receipts leaves one seeing
 * the others' (docs/receipts.md says why).
 */
import type { PrismaClient } from "../store/prisma.js";
import { readableRoom } from "./access.js";

/** Receipts listed per room at most (by user id). */
export const maxReceipts = 1000;

/** Whether the user hides their receipts. */
export async function receiptsHidden(db: PrismaClient, userId: bigint): Promise<boolean> {
  const u = await db.user.findUnique({ where: { id: userId }, select: { hideReadReceipts: true } });
  return u?.hideReadReceipts ?? false;
}

/** Sets the user's privacy setting; returns it. */
export async function setReceiptsHidden(
  db: PrismaClient,
  userId: bigint,
  hide: boolean,
): Promise<boolean> {
  const u = await db.user.update({
    where: { id: userId },
    data: { hideReadReceipts: hide },
    select: { hideReadReceipts: true },
  });
  return u.hideReadReceipts;
}

/**
 * The receipts of a room the caller may read (NotFound otherwise): current
 * members who share theirs, by user id, and the room's last sequence.
 */
export async function roomReceipts(
  db: PrismaClient,
  roomId: bigint,
  callerId: bigint,
): Promise<{ receipts: { userId: bigint; lastReadSeq: bigint }[]; lastSeq: bigint }> {
  const { room } = await readableRoom(db, roomId, callerId);
  const rows = await db.membership.findMany({
    where: { roomId: room.id, state: "JOINED", user: { hideReadReceipts: false } },
    orderBy: { userId: "asc" },
    take: maxReceipts,
    select: { userId: true, lastReadSeq: true },
  });
  return { receipts: rows, lastSeq: room.lastSeq };
}

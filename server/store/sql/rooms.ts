/**
 * The room row lock every change starts with, and the counter write it ends
 * with. Raw on purpose: Prisma has no SELECT ... FOR UPDATE, and its update
 * would read the row before and after the write.
 */
import type { Prisma } from "../prisma.js";

/** The room row as locked at the start of a change. */
export interface LockedRoom {
  id: bigint;
  kind: "CHANNEL" | "DIRECT" | "GROUP_DIRECT";
  visibility: "PUBLIC" | "PRIVATE";
  name: string;
  lastSeq: bigint;
  memberCount: number;
  archivedAt: Date | null;
}

/** Locks the room's row until the transaction ends; undefined when there is no such room. */
export async function lockRoom(
  tx: Prisma.TransactionClient,
  roomId: bigint,
): Promise<LockedRoom | undefined> {
  const rows = await tx.$queryRaw<LockedRoom[]>`
    SELECT id, kind, visibility, name, last_seq AS lastSeq, member_count AS memberCount,
           archived_at AS archivedAt
    FROM rooms WHERE id = ${roomId} FOR UPDATE`;
  const row = rows[0];
  if (!row) return undefined;
  return { ...row, lastSeq: BigInt(row.lastSeq), memberCount: Number(row.memberCount) };
}

/** Writes the room's new last sequence and activity time. */
export async function advanceRoom(
  tx: Prisma.TransactionClient,
  roomId: bigint,
  lastSeq: bigint,
  now: Date,
): Promise<void> {
  await tx.$executeRaw`UPDATE rooms SET last_seq = ${lastSeq}, last_activity_at = ${now} WHERE id = ${roomId}`;
}

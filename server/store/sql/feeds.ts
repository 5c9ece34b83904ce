/**
 * Reads of the feed start, raw because a reconnect storm is made of them:
 * Prisma's relation select would add a round trip to each.
 */
import type { Db } from "../prisma.js";

/** The rooms a user is a member of, with each room's last sequence, by room id. */
export async function membershipHeads(
  db: Db,
  userId: bigint,
): Promise<{ roomId: bigint; lastSeq: bigint }[]> {
  const rows = await db.$queryRaw<{ roomId: bigint; lastSeq: bigint }[]>`
    SELECT m.room_id AS roomId, r.last_seq AS lastSeq
    FROM memberships m JOIN rooms r ON r.id = m.room_id
    WHERE m.user_id = ${userId} AND m.state = 'JOINED'
    ORDER BY m.room_id`;
  return rows.map((r) => ({ roomId: BigInt(r.roomId), lastSeq: BigInt(r.lastSeq) }));
}

/** Users who share at least one room with `userId` (at most `limit`). */
export async function coMemberIds(db: Db, userId: bigint, limit: number): Promise<bigint[]> {
  const rows = await db.$queryRaw<{ userId: bigint }[]>`
    SELECT DISTINCT m2.user_id AS userId
    FROM memberships m1 JOIN memberships m2 ON m2.room_id = m1.room_id
    WHERE m1.user_id = ${userId} AND m1.state = 'JOINED' AND m2.state = 'JOINED'
      AND m2.user_id <> ${userId}
    LIMIT ${limit}`;
  return rows.map((r) => BigInt(r.userId));
}

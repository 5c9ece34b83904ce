/** The rooms a user is a member of, with each room's last sequence, by room id. */
export async function membershipHeads(db, userId) {
    const rows = await db.$queryRaw `
    SELECT m.room_id AS roomId, r.last_seq AS lastSeq
    FROM memberships m JOIN rooms r ON r.id = m.room_id
    WHERE m.user_id = ${userId} AND m.state = 'JOINED'
    ORDER BY m.room_id`;
    return rows.map((r) => ({ roomId: BigInt(r.roomId), lastSeq: BigInt(r.lastSeq) }));
}
/** Users who share at least one room with `userId` (at most `limit`). */
export async function coMemberIds(db, userId, limit) {
    const rows = await db.$queryRaw `
    SELECT DISTINCT m2.user_id AS userId
    FROM memberships m1 JOIN memberships m2 ON m2.room_id = m1.room_id
    WHERE m1.user_id = ${userId} AND m1.state = 'JOINED' AND m2.state = 'JOINED'
      AND m2.user_id <> ${userId}
    LIMIT ${limit}`;
    return rows.map((r) => BigInt(r.userId));
}
//# sourceMappingURL=feeds.js.map
/** Locks the room's row until the transaction ends; undefined when there is no such room. */
export async function lockRoom(tx, roomId) {
    const rows = await tx.$queryRaw `
    SELECT id, kind, visibility, name, last_seq AS lastSeq, member_count AS memberCount,
           archived_at AS archivedAt
    FROM rooms WHERE id = ${roomId} FOR UPDATE`;
    const row = rows[0];
    if (!row)
        return undefined;
    return { ...row, lastSeq: BigInt(row.lastSeq), memberCount: Number(row.memberCount) };
}
/** Writes the room's new last sequence and activity time. */
export async function advanceRoom(tx, roomId, lastSeq, now) {
    await tx.$executeRaw `UPDATE rooms SET last_seq = ${lastSeq}, last_activity_at = ${now} WHERE id = ${roomId}`;
}
//# sourceMappingURL=rooms.js.map
import { unreadAndMentions } from "../store/sql/counts.js";
/**
 * Counts per room for `userId`; every room of `markers` is in the result
 * (zeros when nothing is unread).
 */
export async function unreadCounts(db, userId, markers) {
    const out = new Map();
    if (markers.length === 0)
        return out;
    for (const m of markers)
        out.set(m.roomId, { unread: 0, mentions: 0 });
    const counts = await unreadAndMentions(db, userId, markers);
    for (const [roomId, c] of out) {
        c.unread = counts.unread.get(roomId) ?? 0;
        c.mentions = counts.mentions.get(roomId) ?? 0;
    }
    return out;
}
//# sourceMappingURL=unread.js.map
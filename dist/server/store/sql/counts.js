/**
 * Aggregates Prisma cannot express in one query: unread and mention counts
 * after read markers, reaction tallies, and members by username.
 */
import { Prisma } from "../prisma.js";
/**
 * Per room, messages after the marker that count as unread (text and
 * custom, not deleted, not the user's own), and mentions of the user among
 * them. One (room_id = ? AND seq > ?) range per room: each a range scan of
 * the unique (room_id, seq) index, resp. the (user_id, room_id, seq) index.
 */
export async function unreadAndMentions(db, userId, markers) {
    const messageRanges = Prisma.join(markers.map((m) => Prisma.sql `(m.room_id = ${m.roomId} AND m.seq > ${m.lastReadSeq})`), " OR ");
    const mentionRanges = Prisma.join(markers.map((m) => Prisma.sql `(n.room_id = ${m.roomId} AND n.seq > ${m.lastReadSeq})`), " OR ");
    const unread = await db.$queryRaw `
    SELECT m.room_id AS roomId, COUNT(*) AS n
    FROM messages m
    WHERE (${messageRanges})
      AND m.kind IN ('TEXT', 'CUSTOM')
      AND m.deleted_at IS NULL
      AND (m.sender_id IS NULL OR m.sender_id <> ${userId})
    GROUP BY m.room_id`;
    const mentions = await db.$queryRaw `
    SELECT n.room_id AS roomId, COUNT(*) AS n
    FROM mentions n
    JOIN messages m ON m.id = n.message_id
    WHERE n.user_id = ${userId}
      AND (${mentionRanges})
      AND m.deleted_at IS NULL
      AND (m.sender_id IS NULL OR m.sender_id <> ${userId})
    GROUP BY n.room_id`;
    const toMap = (rows) => new Map(rows.map((r) => [BigInt(r.roomId), Number(r.n)]));
    return { unread: toMap(unread), mentions: toMap(mentions) };
}
/** Reactions of messages per emoji, in first-reaction order. One query. */
export async function reactionTallies(db, messageIds, viewerId) {
    const rows = await db.$queryRaw `
    SELECT message_id AS messageId, emoji, COUNT(*) AS n, MAX(user_id = ${viewerId}) AS mine
    FROM reactions
    WHERE message_id IN (${Prisma.join(messageIds)})
    GROUP BY message_id, emoji
    ORDER BY message_id, MIN(created_at), emoji`;
    return rows.map((r) => ({
        messageId: BigInt(r.messageId),
        emoji: r.emoji,
        count: Number(r.n),
        mine: Number(r.mine ?? 0) === 1,
    }));
}
/** Current members of a room whose username key is one of `keys`. */
export async function membersByUsername(db, roomId, keys) {
    const rows = await db.$queryRaw `
    SELECT u.id, u.username_key AS usernameKey
    FROM users u
    JOIN memberships m ON m.user_id = u.id AND m.room_id = ${roomId} AND m.state = 'JOINED'
    WHERE u.username_key IN (${Prisma.join([...keys])})`;
    return rows.map((r) => ({ id: BigInt(r.id), usernameKey: r.usernameKey }));
}
//# sourceMappingURL=counts.js.map
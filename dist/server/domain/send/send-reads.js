/**
 * The first round trip of a send batch (send-batch.ts): lock the batch's
 * rooms, then read everything the calls are judged by. The rooms are locked
 * in one statement in ascending id order, so two batches never deadlock each
 * other; the reads follow the lock on the same connection, so under READ
 * COMMITTED they see every change committed before it.
 */
import { readStatements, toMembership, toParent } from "../../store/sql/send.js";
/** The idempotency key as the database compares it (case-insensitive collation). */
export function sendKey(senderId, clientMsgId) {
    return `${senderId}:${clientMsgId.toLowerCase()}`;
}
const unique = (xs) => [...new Set(xs)];
const big = (v) => BigInt(v);
/** Locks the rooms of `reqs` and reads their facts: one round trip. */
export async function lockAndRead(tx, reqs) {
    const byRoom = new Map();
    for (const r of reqs) {
        const list = byRoom.get(r.roomId);
        if (list)
            list.push(r);
        else
            byRoom.set(r.roomId, [r]);
    }
    const roomIds = [...byRoom.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const replyIds = unique(reqs.flatMap((r) => (r.replyToId === 0n ? [] : [r.replyToId])));
    const stmts = readStatements(byRoom, roomIds, replyIds);
    const [roomRows = [], memberRows = [], keyRows = [], ...optional] = await tx.run(stmts.list);
    const parentRows = stmts.parents ? (optional.shift() ?? []) : [];
    const mentionRows = stmts.mentions ? (optional.shift() ?? []) : [];
    const rooms = new Map(roomRows.map((r) => [
        big(r.id),
        {
            visibility: r.visibility,
            lastSeq: big(r.lastSeq),
            archivedAt: (r.archivedAt ?? null),
        },
    ]));
    const members = new Map(memberRows.map((m) => [`${big(m.roomId)}:${big(m.userId)}`, toMembership(m)]));
    const stored = new Map(keyRows.map((k) => [
        `${big(k.roomId)}:${sendKey(big(k.senderId), String(k.clientMsgId))}`,
        big(k.id),
    ]));
    const parents = new Map(parentRows.map((p) => [big(p.id), toParent(p)]));
    const byName = new Map(mentionRows.map((u) => [`${big(u.roomId)}:${String(u.usernameKey).toLowerCase()}`, big(u.id)]));
    return {
        room: (roomId) => rooms.get(roomId),
        membership: (roomId, userId) => members.get(`${roomId}:${userId}`) ?? null,
        storedId: (roomId, senderId, key) => stored.get(`${roomId}:${sendKey(senderId, key)}`),
        replyParent: (id) => parents.get(id),
        mentioned(roomId, spellings) {
            const ids = new Set();
            for (const names of spellings) {
                const id = names.map((n) => byName.get(`${roomId}:${n}`)).find((x) => x !== undefined);
                if (id !== undefined)
                    ids.add(id);
            }
            return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        },
    };
}
//# sourceMappingURL=send-reads.js.map
/**
 * Who may see and change a room: the one home of the visibility and
 * membership rules and their errors. Every RPC is authorized; rooms a
 * caller may not see are NotFound, never PermissionDenied, so private rooms
 * do not leak.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { roleRank, roomSelect } from "./room-view.js";
const membershipSelect = { role: true, state: true, lastReadSeq: true, joinedAt: true };
/** The error for a room the caller may not see (or that does not exist). */
export function roomNotFound() {
    return new ConnectError("room not found", Code.NotFound);
}
/** Loads the caller's membership row (any state) of a room. */
export async function membershipOf(db, roomId, userId) {
    return db.membership.findUnique({
        where: { roomId_userId: { roomId, userId } },
        select: membershipSelect,
    });
}
/**
 * True when a room with this membership is visible to the caller: banned
 * users never see it; private rooms only their members.
 */
export function visible(room, m) {
    if (m?.state === "BANNED")
        return false;
    return room.visibility === "PUBLIC" || m?.state === "JOINED";
}
/** The error for acting on a visible room the caller is not a member of. */
export function notJoined() {
    return new ConnectError("join the room first: only members can do this", Code.PermissionDenied);
}
/**
 * A room the caller may read: a public room they are not banned from, or a
 * room they belong to. Otherwise NotFound.
 */
export async function readableRoom(db, roomId, userId) {
    const [room, membership] = await Promise.all([
        db.room.findUnique({ where: { id: roomId }, select: roomSelect }),
        membershipOf(db, roomId, userId),
    ]);
    if (!room || !visible(room, membership))
        throw roomNotFound();
    return { room, membership: membership?.state === "JOINED" ? membership : null };
}
/**
 * The caller acting on a room inside a change, checked in this order:
 * not visible (private and not a member, or banned): NotFound; archived:
 * FailedPrecondition (unless `allowArchived`); not a member (public room):
 * PermissionDenied.
 */
export async function actingMember(c, userId, opts = {}) {
    const m = await membershipOf(c.tx, c.room.id, userId);
    if (!visible(c.room, m))
        throw roomNotFound();
    if (!opts.allowArchived)
        requireNotArchived(c.room);
    if (m?.state !== "JOINED")
        throw notJoined();
    return m;
}
/** Archived rooms are read-only. */
export function requireNotArchived(room) {
    if (room.archivedAt) {
        throw new ConnectError("the room is archived and read-only", Code.FailedPrecondition);
    }
}
/** The member must hold at least `min`. */
export function requireRole(m, min, what) {
    if (roleRank[m.role] < roleRank[min]) {
        throw new ConnectError(`only ${min === "OWNER" ? "the owner" : "owners and admins"} can ${what}`, Code.PermissionDenied);
    }
}
//# sourceMappingURL=access.js.map
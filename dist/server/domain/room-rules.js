/**
 * Building blocks of RoomService changes: who may act, how members enter and
 * leave, and how one change records its event and (for changes users see in
 * history) its SYSTEM message at the same sequence number.
 *
 * One change = one sequence number. The RoomEvent at that number is the
 * membership/room event (members_added, member_removed, ...); the SYSTEM
 * message row, when there is one, is the history view of the same change and
 * carries the same `seq`.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MemberRemovedSchema, MembersAddedSchema, RoomUpdatedSchema, } from "../../gen/chat/v1/event_pb.js";
import { SystemNoticeSchema } from "../../gen/chat/v1/message_pb.js";
import { invalidArgument } from "../platform/errors.js";
import { encodeSystemNotice } from "./message-view.js";
import { roleRank, roomSelect, toRoom } from "./room-view.js";
import { userSelect } from "./user-view.js";
/** Rooms of kind GROUP_DIRECT hold at most this many members. */
export const maxGroupDirectMembers = 10;
/** `FailedPrecondition` with a message saying what to do instead. */
export function failedPrecondition(message) {
    return new ConnectError(message, Code.FailedPrecondition);
}
/** DIRECT rooms have exactly their two members and nothing to moderate. */
export function rejectDirect(room, what) {
    if (room.kind === "DIRECT") {
        throw failedPrecondition(`direct conversations cannot ${what}`);
    }
}
/** A moderator acts only on members ranked strictly below them. */
export function requireOutranks(actor, target, what) {
    if (roleRank[actor.role] <= roleRank[target.role]) {
        throw new ConnectError(`you can only ${what} members with a lower role than yours`, Code.PermissionDenied);
    }
}
/** Ids in first-seen order without duplicates. */
export function uniqueIds(ids) {
    return [...new Set(ids)];
}
/** Loads users by id; missing ones are absent from the map. */
export async function loadUsers(db, ids) {
    if (ids.length === 0)
        return new Map();
    const rows = await db.user.findMany({ where: { id: { in: [...ids] } }, select: userSelect });
    return new Map(rows.map((u) => [u.id, u]));
}
/** InvalidArgument on `field` when some of `ids` are not users. */
export function requireKnown(ids, users, field) {
    const unknown = ids.filter((id) => !users.has(id));
    if (unknown.length > 0) {
        throw invalidArgument([{ field, description: `no such users: ${unknown.join(", ")}` }]);
    }
}
/** The user row, or the account vanished under a valid token. */
export function requireUser(users, id) {
    const u = users.get(id);
    if (!u)
        throw new ConnectError(`user ${id} not found`, Code.NotFound);
    return u;
}
/**
 * Makes users current members as of `seq`: new rows for first-timers, the
 * old row revived (role reset) for users who left or were kicked. The read
 * marker starts at `seq`, so history from before joining is not unread.
 * Keeps rooms.member_count right.
 */
export async function admitMembers(c, seq, members, haveRow) {
    if (members.length === 0)
        return;
    const joined = {
        state: "JOINED",
        joinedAt: c.now,
        joinedSeq: seq,
        lastReadSeq: seq,
        updatedAt: c.now,
    };
    const fresh = members.filter((m) => !haveRow.has(m.userId));
    if (fresh.length > 0) {
        await c.tx.membership.createMany({
            data: fresh.map((m) => ({ roomId: c.room.id, userId: m.userId, role: m.role, ...joined })),
        });
    }
    const back = members.filter((m) => haveRow.has(m.userId));
    for (const role of ["MEMBER", "ADMIN", "OWNER"]) {
        const ids = back.filter((m) => m.role === role).map((m) => m.userId);
        if (ids.length === 0)
            continue;
        await c.tx.membership.updateMany({
            where: { roomId: c.room.id, userId: { in: ids } },
            data: { role, ...joined },
        });
    }
    await c.tx.room.update({
        where: { id: c.room.id },
        data: { memberCount: { increment: members.length } },
    });
}
/** Ends a current membership (left, kicked or banned); keeps member_count right. */
export async function dismissMember(c, userId, state) {
    await c.tx.membership.update({
        where: { roomId_userId: { roomId: c.room.id, userId } },
        data: { state, updatedAt: c.now },
    });
    await c.tx.room.update({
        where: { id: c.room.id },
        data: { memberCount: { decrement: 1 } },
    });
}
/** The members_added change. */
export function membersAdded(members) {
    return { case: "membersAdded", value: create(MembersAddedSchema, { members }) };
}
/** The member_removed change. */
export function memberRemoved(userId, reason) {
    return { case: "memberRemoved", value: create(MemberRemovedSchema, { userId, reason }) };
}
/** The room_updated change. */
export function roomUpdated(room) {
    return { case: "roomUpdated", value: create(RoomUpdatedSchema, { room: toRoom(room) }) };
}
/**
 * Stores the SYSTEM message of a change at the change's own `seq` (the event
 * at that seq is the membership/room event itself).
 */
export async function systemMessage(c, seq, actorId, notice) {
    const payload = encodeSystemNotice(create(SystemNoticeSchema, { notice, actorId }));
    await c.tx.message.create({
        data: {
            roomId: c.room.id,
            seq,
            senderId: null,
            kind: "SYSTEM",
            text: "",
            payload,
            createdAt: c.now,
        },
    });
}
/**
 * The room as it will be once this change commits: the writer stores
 * last_seq and last_activity_at only after the callback, so they are set here
 * from the change's last sequence number.
 */
export async function roomAfter(c, lastSeq) {
    const row = await c.tx.room.findUniqueOrThrow({ where: { id: c.room.id }, select: roomSelect });
    return lastSeq === undefined ? row : { ...row, lastSeq, lastActivityAt: c.now };
}
/** The unique key of the direct room between two users: "<low>:<high>". */
export function directKey(a, b) {
    return a < b ? `${a}:${b}` : `${b}:${a}`;
}
//# sourceMappingURL=room-rules.js.map
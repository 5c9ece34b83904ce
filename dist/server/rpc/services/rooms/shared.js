/** What the RoomService parts share: page sizes, enum mapping, a new room's first change. */
import { create } from "@bufbuild/protobuf";
import { RoomCreatedNoticeSchema } from "../../../../gen/chat/v1/message_pb.js";
import { Visibility } from "../../../../gen/chat/v1/room_pb.js";
import { admitMembers, loadUsers, membersAdded, requireKnown, requireUser, roomAfter, systemMessage, } from "../../../domain/room-rules.js";
import { toMember } from "../../../domain/room-view.js";
export const publicPageSize = 20;
export const myRoomsPageSize = 50;
export const membersPageSize = 50;
/** ListMyRooms shows at most this many peers per direct room. */
export const maxPeers = 10;
/** OpenDirect retries this often when it loses a race or a deadlock. */
export const openDirectAttempts = 5;
export const visibilityFromProto = {
    [Visibility.PUBLIC]: "PUBLIC",
    [Visibility.PRIVATE]: "PRIVATE",
};
/**
 * The first change of a new room (seq 1): its members join in one
 * members_added event; the history shows room_created.
 */
export async function firstChange(c, creatorId, creatorRole, otherIds, field) {
    const users = await loadUsers(c.tx, [creatorId, ...otherIds]);
    requireKnown(otherIds, users, field);
    const seq = c.nextSeq();
    const entries = [
        { userId: creatorId, role: creatorRole },
        ...otherIds.map((userId) => ({ userId, role: "MEMBER" })),
    ];
    await admitMembers(c, seq, entries, new Set());
    c.emit(seq, creatorId, membersAdded(entries.map((e) => toMember(requireUser(users, e.userId), e.role, c.now))));
    await systemMessage(c, seq, creatorId, {
        case: "roomCreated",
        value: create(RoomCreatedNoticeSchema, { name: c.room.name }),
    });
    return roomAfter(c, seq);
}
//# sourceMappingURL=shared.js.map
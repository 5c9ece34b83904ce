/** Conversions between room/membership rows and contract messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { MemberSchema, RoomKind, RoomSchema, Visibility, } from "../../gen/chat/v1/room_pb.js";
import { toUser } from "./user-view.js";
/** Database role names to the contract enum and back. */
export const roleToProto = {
    MEMBER: MemberRole.MEMBER,
    ADMIN: MemberRole.ADMIN,
    OWNER: MemberRole.OWNER,
};
export const roleFromProto = {
    [MemberRole.MEMBER]: "MEMBER",
    [MemberRole.ADMIN]: "ADMIN",
    [MemberRole.OWNER]: "OWNER",
};
/** Rank of a role: a moderator acts only on members ranked below them. */
export const roleRank = { MEMBER: 1, ADMIN: 2, OWNER: 3 };
const kindToProto = {
    CHANNEL: RoomKind.CHANNEL,
    DIRECT: RoomKind.DIRECT,
    GROUP_DIRECT: RoomKind.GROUP_DIRECT,
};
const visibilityToProto = {
    PUBLIC: Visibility.PUBLIC,
    PRIVATE: Visibility.PRIVATE,
};
/** The room columns the contract needs. */
export const roomSelect = {
    id: true,
    kind: true,
    visibility: true,
    name: true,
    description: true,
    creatorId: true,
    memberCount: true,
    lastSeq: true,
    createdAt: true,
    updatedAt: true,
    archivedAt: true,
    lastActivityAt: true,
};
/** The contract view of a room. */
export function toRoom(row) {
    return create(RoomSchema, {
        id: row.id,
        kind: kindToProto[row.kind],
        visibility: visibilityToProto[row.visibility],
        name: row.name,
        description: row.description,
        creatorId: row.creatorId,
        memberCount: row.memberCount,
        lastSeq: row.lastSeq,
        createTime: timestampFromDate(row.createdAt),
        updateTime: timestampFromDate(row.updatedAt),
        archiveTime: row.archivedAt ? timestampFromDate(row.archivedAt) : undefined,
        lastActivityTime: timestampFromDate(row.lastActivityAt),
    });
}
/** The contract view of a membership. */
export function toMember(user, role, joinedAt) {
    return create(MemberSchema, {
        user: toUser(user),
        role: roleToProto[role],
        joinTime: timestampFromDate(joinedAt),
    });
}
//# sourceMappingURL=room-view.js.map
/** Conversions between room/membership rows and contract messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import {
  type Member,
  MemberSchema,
  type Room,
  RoomKind,
  RoomSchema,
  Visibility,
} from "../../gen/chat/v1/room_pb.js";
import type { $Enums } from "../store/prisma.js";
import { toUser, type UserRow } from "./user-view.js";

/** Database role names to the contract enum and back. */
export const roleToProto: Record<$Enums.MemberRole, MemberRole> = {
  MEMBER: MemberRole.MEMBER,
  ADMIN: MemberRole.ADMIN,
  OWNER: MemberRole.OWNER,
};
export const roleFromProto: Partial<Record<MemberRole, $Enums.MemberRole>> = {
  [MemberRole.MEMBER]: "MEMBER",
  [MemberRole.ADMIN]: "ADMIN",
  [MemberRole.OWNER]: "OWNER",
};
/** Rank of a role: a moderator acts only on members ranked below them. */
export const roleRank: Record<$Enums.MemberRole, number> = { MEMBER: 1, ADMIN: 2, OWNER: 3 };

const kindToProto: Record<$Enums.RoomKind, RoomKind> = {
  CHANNEL: RoomKind.CHANNEL,
  DIRECT: RoomKind.DIRECT,
  GROUP_DIRECT: RoomKind.GROUP_DIRECT,
};
const visibilityToProto: Record<$Enums.RoomVisibility, Visibility> = {
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
  slowModeSeconds: true,
} as const;

/** A room row selected with {@link roomSelect}. */
export interface RoomRow {
  id: bigint;
  kind: $Enums.RoomKind;
  visibility: $Enums.RoomVisibility;
  name: string;
  description: string;
  creatorId: bigint;
  memberCount: number;
  lastSeq: bigint;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
  lastActivityAt: Date;
  slowModeSeconds: number;
}

/** The contract view of a room. */
export function toRoom(row: RoomRow): Room {
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
    slowModeSeconds: row.slowModeSeconds,
  });
}

/** The contract view of a membership. */
export function toMember(user: UserRow, role: $Enums.MemberRole, joinedAt: Date): Member {
  return create(MemberSchema, {
    user: toUser(user),
    role: roleToProto[role],
    joinTime: timestampFromDate(joinedAt),
  });
}

/** What the RoomService parts share: page sizes, enum mapping, a new room's first change. */
import { create } from "@bufbuild/protobuf";
import { RoomCreatedNoticeSchema } from "../../../../gen/chat/v1/message_pb.js";
import { Visibility } from "../../../../gen/chat/v1/room_pb.js";
import type { AddPolicyName } from "../../../domain/consent/consent.js";
import type { RateLimits } from "../../../domain/limits/rate-limits.js";
import type { RoomChange } from "../../../domain/room-change.js";
import {
  admitMembers,
  loadUsers,
  membersAdded,
  requireKnown,
  requireUser,
  roomAfter,
  systemMessage,
} from "../../../domain/room-rules.js";
import { type RoomRow, toMember } from "../../../domain/room-view.js";
import type { RoomWriter } from "../../../domain/room-writer.js";
import type { $Enums, PrismaClient } from "../../../store/prisma.js";

export const publicPageSize = 20;
export const myRoomsPageSize = 50;
export const membersPageSize = 50;
/** ListMyRooms shows at most this many peers per direct room. */
export const maxPeers = 10;
/** OpenDirect retries this often when it loses a race or a deadlock. */
export const openDirectAttempts = 5;

export const visibilityFromProto: Partial<Record<Visibility, $Enums.RoomVisibility>> = {
  [Visibility.PUBLIC]: "PUBLIC",
  [Visibility.PRIVATE]: "PRIVATE",
};

/**
 * The first change of a new room (seq 1): its members join in one
 * members_added event; the history shows room_created.
 */
export async function firstChange(
  c: RoomChange,
  creatorId: bigint,
  creatorRole: $Enums.MemberRole,
  otherIds: bigint[],
  field: string,
): Promise<RoomRow> {
  const users = await loadUsers(c.tx, [creatorId, ...otherIds]);
  requireKnown(otherIds, users, field);
  const seq = c.nextSeq();
  const entries = [
    { userId: creatorId, role: creatorRole },
    ...otherIds.map((userId) => ({ userId, role: "MEMBER" as const })),
  ];
  await admitMembers(c, seq, entries, new Set());
  c.emit(
    seq,
    creatorId,
    membersAdded(entries.map((e) => toMember(requireUser(users, e.userId), e.role, c.now))),
  );
  await systemMessage(c, seq, creatorId, {
    case: "roomCreated",
    value: create(RoomCreatedNoticeSchema, { name: c.room.name }),
  });
  return roomAfter(c, seq);
}

/** What RoomService needs. */
export interface RoomServiceDeps {
  prisma: PrismaClient;
  /** Every room change goes through it (dense sequence, events). */
  writer: RoomWriter;
  /** Room creation and invitations per user (domain/limits/). */
  limits: RateLimits;
  /** Who may add users who never chose (domain/consent/). */
  defaultWhoMayAdd?: AddPolicyName;
}

/**
 * The moderation actions that are room changes: kick, ban and deleting a
 * message. RoomService.KickMember / BanMember, MessageService.DeleteMessage
 * and ModerationService.ResolveReport (reports.ts) all run these, so an
 * action taken from the report queue follows the same rules and writes the
 * same room event, with the moderator as its actor.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MemberRemoved_Reason, MessageDeletedSchema } from "../../../gen/chat/v1/event_pb.js";
import { MemberRemovedNoticeSchema } from "../../../gen/chat/v1/message_pb.js";
import { invalidArgument } from "../../platform/errors.js";
import { actingMember, membershipOf, requireNotArchived, requireRole } from "../access.js";
import { type MessageRow, messageSelect } from "../message-view.js";
import type { RoomChange } from "../room-change.js";
import {
  dismissMember,
  memberRemoved,
  rejectDirect,
  requireOutranks,
  systemMessage,
} from "../room-rules.js";

/** Kicks `userId` as `actorId` (an admin or owner ranked above them). Returns the event's seq. */
export async function kickMember(c: RoomChange, actorId: bigint, userId: bigint): Promise<bigint> {
  const m = await actingMember(c, actorId);
  rejectDirect(c.room, "be moderated");
  requireRole(m, "ADMIN", "kick members");
  if (userId === actorId) {
    throw invalidArgument([{ field: "user_id", description: "is you: use LeaveRoom to leave" }]);
  }
  const target = await membershipOf(c.tx, c.room.id, userId);
  if (target?.state !== "JOINED") {
    throw new ConnectError("that user is not a member of this room", Code.NotFound);
  }
  requireOutranks(m, target, "kick");
  const seq = c.nextSeq();
  await dismissMember(c, userId, "KICKED");
  c.emit(seq, actorId, memberRemoved(userId, MemberRemoved_Reason.KICKED));
  await systemMessage(c, seq, actorId, {
    case: "memberRemoved",
    value: create(MemberRemovedNoticeSchema, { userId, banned: false }),
  });
  return seq;
}

/**
 * Bans `userId` as `actorId`, member or not (the membership row remembers
 * the ban). Returns the event's seq; 0 when already banned.
 */
export async function banMember(c: RoomChange, actorId: bigint, userId: bigint): Promise<bigint> {
  const m = await actingMember(c, actorId);
  rejectDirect(c.room, "be moderated");
  requireRole(m, "ADMIN", "ban users");
  if (userId === actorId) {
    throw invalidArgument([{ field: "user_id", description: "is you: you cannot ban yourself" }]);
  }
  const exists = await c.tx.user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!exists) throw new ConnectError("user not found", Code.NotFound);
  const target = await membershipOf(c.tx, c.room.id, userId);
  if (target?.state === "BANNED") return 0n; // already banned: no change
  const wasMember = target?.state === "JOINED";
  if (target && wasMember) requireOutranks(m, target, "ban");
  const seq = c.nextSeq();
  if (wasMember) {
    await dismissMember(c, userId, "BANNED");
  } else {
    // Bans work on non-members too: the row remembers the ban.
    await c.tx.membership.upsert({
      where: { roomId_userId: { roomId: c.room.id, userId } },
      create: {
        roomId: c.room.id,
        userId,
        state: "BANNED",
        joinedAt: c.now,
        updatedAt: c.now,
      },
      update: { state: "BANNED", updatedAt: c.now },
    });
  }
  c.emit(seq, actorId, memberRemoved(userId, MemberRemoved_Reason.BANNED));
  // History shows the removal of members only; banning an outsider is
  // recorded by its event alone.
  if (wasMember) {
    await systemMessage(c, seq, actorId, {
      case: "memberRemoved",
      value: create(MemberRemovedNoticeSchema, { userId, banned: true }),
    });
  }
  return seq;
}

/**
 * Deletes the message `row` (read under the room's lock) as `actorId`, whose
 * role in the room is `role`: its author, or an owner or admin. Returns the
 * row after the change and the event's seq (0: already deleted).
 */
export async function deleteMessage(
  c: RoomChange,
  actorId: bigint,
  row: MessageRow,
  role: "MEMBER" | "ADMIN" | "OWNER",
): Promise<{ row: MessageRow; seq: bigint }> {
  if (row.kind === "SYSTEM") {
    throw new ConnectError("system messages cannot be deleted", Code.FailedPrecondition);
  }
  if (row.senderId !== actorId && role === "MEMBER") {
    throw new ConnectError(
      "only the author, owners and admins can delete a message",
      Code.PermissionDenied,
    );
  }
  requireNotArchived(c.room);
  if (row.deletedAt) return { row, seq: 0n };
  const updated = await c.tx.message.update({
    where: { id: row.id },
    data: {
      deletedAt: c.now,
      deletedById: actorId,
      text: "",
      payload: null,
      searchTokens: null,
    },
    select: messageSelect,
  });
  await c.tx.mention.deleteMany({ where: { messageId: row.id } });
  await c.tx.reaction.deleteMany({ where: { messageId: row.id } });
  const seq = c.nextSeq();
  c.emit(seq, actorId, {
    case: "messageDeleted",
    value: create(MessageDeletedSchema, { messageId: row.id, deletedBy: actorId }),
  });
  return { row: updated, seq };
}

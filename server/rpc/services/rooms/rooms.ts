/** RoomService: create, read, update and archive a room. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  RoomArchivedNoticeSchema,
  RoomRenamedNoticeSchema,
} from "../../../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../../../gen/chat/v1/role_pb.js";
import {
  ArchiveRoomResponseSchema,
  CreateRoomResponseSchema,
  GetRoomResponseSchema,
  type RoomService,
  UpdateRoomResponseSchema,
} from "../../../../gen/chat/v1/room_pb.js";
import { actingMember, readableRoom, requireRole } from "../../../domain/access.js";
import { recordInvitations, splitByConsent } from "../../../domain/consent/consent.js";
import {
  rejectDirect,
  roomAfter,
  roomUpdated,
  systemMessage,
  uniqueIds,
} from "../../../domain/room-rules.js";
import { roleToProto, toRoom } from "../../../domain/room-view.js";
import { nameProblem, textProblem } from "../../../domain/visible-text.js";
import { invalidArgument } from "../../../platform/errors.js";
import { callerOf } from "../../context.js";
import type { RoomServiceDeps } from "./shared.js";
import { firstChange, visibilityFromProto } from "./shared.js";

/** A room's name and description must show something; the name has no bidi controls. */
function checkNames(name: string | undefined, description: string | undefined): void {
  const bad = [
    name === undefined ? undefined : nameProblem(name, "name"),
    description === undefined ? undefined : textProblem(description, "description"),
  ].filter((v) => v !== undefined);
  if (bad.length > 0) throw invalidArgument(bad);
}

/** createRoom, getRoom, updateRoom, archiveRoom. */
export function roomMethods({
  prisma,
  writer,
  limits,
  defaultWhoMayAdd,
}: RoomServiceDeps): Pick<
  ServiceImpl<typeof RoomService>,
  "createRoom" | "getRoom" | "updateRoom" | "archiveRoom"
> {
  return {
    async createRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const name = req.name.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      checkNames(name, req.description.trim());
      const visibility = visibilityFromProto[req.visibility];
      if (!visibility) {
        throw invalidArgument([{ field: "visibility", description: "must be PUBLIC or PRIVATE" }]);
      }
      const memberIds = uniqueIds(req.memberIds).filter((id) => id !== me);
      await limits.check("roomCreates", me);
      if (memberIds.length > 0) await limits.check("invitations", me, memberIds.length);
      const { add, ask } = await splitByConsent(prisma, me, memberIds, defaultWhoMayAdd);
      const { result } = await writer.create(
        { kind: "CHANNEL", visibility, name, description: req.description.trim(), creatorId: me },
        async (c) => {
          const room = await firstChange(c, me, "OWNER", add, "member_ids");
          await recordInvitations(c, me, ask);
          return room;
        },
      );
      return create(CreateRoomResponseSchema, { room: toRoom(result), invitedUserIds: ask });
    },
    async getRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const { room, membership } = await readableRoom(prisma, req.roomId, me);
      const muted = membership
        ? (
            await prisma.membership.findUnique({
              where: { roomId_userId: { roomId: room.id, userId: me } },
              select: { mutedUntil: true },
            })
          )?.mutedUntil
        : null;
      return create(GetRoomResponseSchema, {
        room: toRoom(room),
        myRole: membership ? roleToProto[membership.role] : MemberRole.UNSPECIFIED,
        lastReadSeq: membership?.lastReadSeq ?? 0n,
        mutedUntil: muted && muted > new Date() ? timestampFromDate(muted) : undefined,
      });
    },
    async updateRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const name = req.name?.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      const description = req.description?.trim();
      checkNames(name, description);
      const room = await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be renamed or described");
        requireRole(m, "ADMIN", "update the room");
        const before = await roomAfter(c);
        const data: { name?: string; description?: string; slowModeSeconds?: number } = {};
        if (name !== undefined && name !== before.name) data.name = name;
        if (description !== undefined && description !== before.description) {
          data.description = description;
        }
        const slow = req.slowModeSeconds;
        if (slow !== undefined && slow !== before.slowModeSeconds) data.slowModeSeconds = slow;
        if (
          data.name === undefined &&
          data.description === undefined &&
          data.slowModeSeconds === undefined
        ) {
          return before;
        }
        const seq = c.nextSeq();
        await c.tx.room.update({ where: { id: c.room.id }, data: { ...data, updatedAt: c.now } });
        const after = await roomAfter(c, seq);
        c.emit(seq, me, roomUpdated(after));
        if (data.name !== undefined) {
          await systemMessage(c, seq, me, {
            case: "roomRenamed",
            value: create(RoomRenamedNoticeSchema, { oldName: before.name, newName: data.name }),
          });
        }
        return after;
      });
      return create(UpdateRoomResponseSchema, { room: toRoom(room) });
    },
    async archiveRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const room = await writer.change(req.roomId, async (c) => {
        // Archiving twice succeeds without a change, so the archived check
        // is left out here.
        const m = await actingMember(c, me, { allowArchived: true });
        rejectDirect(c.room, "be archived");
        requireRole(m, "OWNER", "archive the room");
        if (c.room.archivedAt) return roomAfter(c);
        const seq = c.nextSeq();
        await c.tx.room.update({
          where: { id: c.room.id },
          data: { archivedAt: c.now, updatedAt: c.now },
        });
        const after = await roomAfter(c, seq);
        c.emit(seq, me, roomUpdated(after));
        await systemMessage(c, seq, me, {
          case: "roomArchived",
          value: create(RoomArchivedNoticeSchema, {}),
        });
        return after;
      });
      return create(ArchiveRoomResponseSchema, { room: toRoom(room) });
    },
  };
}

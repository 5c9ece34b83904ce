/** AdminService: create rooms with their owners and admins, list them with statistics, archive. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  ArchiveRoomResponseSchema,
  CreateRoomResponseSchema,
  ListRoomsResponseSchema,
  RoomInfoSchema,
  UpdateRoomResponseSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import {
  RoomArchivedNoticeSchema,
  RoomCreatedNoticeSchema,
  RoomRenamedNoticeSchema,
} from "../../../../gen/chat/v1/message_pb.js";
import {
  admitMembers,
  loadUsers,
  membersAdded,
  rejectDirect,
  requireKnown,
  requireUser,
  roomAfter,
  roomUpdated,
  systemMessage,
  uniqueIds,
} from "../../../domain/room-rules.js";
import { roomSelect, toMember, toRoom } from "../../../domain/room-view.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { $Enums } from "../../../store/prisma.js";
import { visibilityFromProto } from "../rooms/shared.js";
import { type AdminDeps, pageSize } from "./shared.js";

/** createRoom, listRooms, archiveRoom. */
export function adminRoomMethods({
  prisma,
  writer,
  presence,
}: AdminDeps): Pick<
  ServiceImpl<typeof AdminService>,
  "createRoom" | "listRooms" | "updateRoom" | "archiveRoom"
> {
  return {
    async createRoom(req) {
      const name = req.name.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      const visibility = visibilityFromProto[req.visibility];
      if (!visibility) {
        throw invalidArgument([{ field: "visibility", description: "must be PUBLIC or PRIVATE" }]);
      }
      // A user named twice gets the highest role named.
      const owners = uniqueIds(req.ownerIds);
      const admins = uniqueIds(req.adminIds).filter((id) => !owners.includes(id));
      const members = uniqueIds(req.memberIds).filter(
        (id) => !owners.includes(id) && !admins.includes(id),
      );
      const creatorId = owners[0] as bigint;
      const { result } = await writer.create(
        { kind: "CHANNEL", visibility, name, description: req.description.trim(), creatorId },
        async (c) => {
          const users = await loadUsers(c.tx, [...owners, ...admins, ...members]);
          requireKnown(owners, users, "owner_ids");
          requireKnown(admins, users, "admin_ids");
          requireKnown(members, users, "member_ids");
          const entries: { userId: bigint; role: $Enums.MemberRole }[] = [
            ...owners.map((userId) => ({ userId, role: "OWNER" as const })),
            ...admins.map((userId) => ({ userId, role: "ADMIN" as const })),
            ...members.map((userId) => ({ userId, role: "MEMBER" as const })),
          ];
          const seq = c.nextSeq();
          await admitMembers(c, seq, entries, new Set());
          c.emit(
            seq,
            null,
            membersAdded(entries.map((e) => toMember(requireUser(users, e.userId), e.role, c.now))),
          );
          await systemMessage(c, seq, 0n, {
            case: "roomCreated",
            value: create(RoomCreatedNoticeSchema, { name }),
          });
          return roomAfter(c, seq);
        },
      );
      return create(CreateRoomResponseSchema, { room: toRoom(result) });
    },

    async listRooms(req) {
      const limit = pageSize(req.pageSize, 50, 200);
      const query = req.query.trim();
      const rows = await prisma.room.findMany({
        where: {
          ...(req.beforeId > 0n ? { id: { lt: req.beforeId } } : {}),
          ...(query ? { name: { contains: query } } : {}),
        },
        orderBy: { id: "desc" },
        take: limit + 1,
        select: roomSelect,
      });
      const page = rows.slice(0, limit);
      const ids = page.map((r) => r.id);
      const counts =
        ids.length === 0
          ? []
          : await prisma.message.groupBy({
              by: ["roomId"],
              where: { roomId: { in: ids } },
              _count: { _all: true },
            });
      const countOf = new Map(counts.map((c) => [c.roomId, c._count._all]));
      const stats = await Promise.all(
        page.map((r) => presence.roomStats(r.id).catch(() => ({ online: 0, peak: 0 }))),
      );
      return create(ListRoomsResponseSchema, {
        rooms: page.map((r, i) =>
          create(RoomInfoSchema, {
            room: toRoom(r),
            onlineMembers: stats[i]?.online ?? 0,
            peakOnlineMembers: stats[i]?.peak ?? 0,
            messageCount: BigInt(countOf.get(r.id) ?? 0),
          }),
        ),
        nextBeforeId: rows.length > limit ? (page[page.length - 1]?.id ?? 0n) : 0n,
      });
    },

    async updateRoom(req) {
      const name = req.name?.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      const description = req.description?.trim();
      const room = await writer.change(req.roomId, async (c) => {
        rejectDirect(c.room, "be renamed or described");
        const before = await roomAfter(c);
        const data: { name?: string; description?: string } = {};
        if (name !== undefined && name !== before.name) data.name = name;
        if (description !== undefined && description !== before.description) {
          data.description = description;
        }
        if (data.name === undefined && data.description === undefined) return before;
        const seq = c.nextSeq();
        await c.tx.room.update({ where: { id: c.room.id }, data: { ...data, updatedAt: c.now } });
        const after = await roomAfter(c, seq);
        c.emit(seq, null, roomUpdated(after));
        if (data.name !== undefined) {
          await systemMessage(c, seq, 0n, {
            case: "roomRenamed",
            value: create(RoomRenamedNoticeSchema, { oldName: before.name, newName: data.name }),
          });
        }
        return after;
      });
      return create(UpdateRoomResponseSchema, { room: toRoom(room) });
    },

    async archiveRoom(req) {
      const room = await writer.change(req.roomId, async (c) => {
        if (c.room.archivedAt) return roomAfter(c);
        const seq = c.nextSeq();
        await c.tx.room.update({
          where: { id: c.room.id },
          data: { archivedAt: c.now, updatedAt: c.now },
        });
        const after = await roomAfter(c, seq);
        c.emit(seq, null, roomUpdated(after));
        await systemMessage(c, seq, 0n, {
          case: "roomArchived",
          value: create(RoomArchivedNoticeSchema, {}),
        });
        return after;
      });
      return create(ArchiveRoomResponseSchema, { room: toRoom(room) });
    },
  };
}

/** AdminService: delete any message; export a room's history by sequence. */
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  DeleteMessageResponseSchema,
  ExportHistoryResponseSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { MessageDeletedSchema, RoomEventSchema } from "../../../../gen/chat/v1/event_pb.js";
import { messageSelect, viewMessages } from "../../../domain/message-view.js";
import { type AdminDeps, pageSize } from "./shared.js";

function messageNotFound(id: bigint): ConnectError {
  return new ConnectError(`message ${id} not found`, Code.NotFound);
}

/** deleteMessage, exportHistory. */
export function adminHistoryMethods({
  prisma,
  writer,
}: AdminDeps): Pick<ServiceImpl<typeof AdminService>, "deleteMessage" | "exportHistory"> {
  return {
    async deleteMessage(req) {
      const found = await prisma.message.findUnique({
        where: { id: req.messageId },
        select: { roomId: true },
      });
      if (!found) throw messageNotFound(req.messageId);
      // Deleted by the server (deleted_by 0), archived rooms included: moderation
      // outlives a room's active life.
      return writer.change(found.roomId, async (c) => {
        const row = await c.tx.message.findUnique({
          where: { id: req.messageId },
          select: messageSelect,
        });
        if (!row || row.roomId !== found.roomId) throw messageNotFound(req.messageId);
        if (row.kind === "SYSTEM") {
          throw new ConnectError("system messages cannot be deleted", Code.FailedPrecondition);
        }
        if (row.deletedAt) {
          const [message] = await viewMessages(c.tx, [row], 0n);
          return create(DeleteMessageResponseSchema, { message, seq: 0n });
        }
        const updated = await c.tx.message.update({
          where: { id: row.id },
          data: { deletedAt: c.now, deletedById: null, text: "", payload: null },
          select: messageSelect,
        });
        await c.tx.mention.deleteMany({ where: { messageId: row.id } });
        await c.tx.reaction.deleteMany({ where: { messageId: row.id } });
        const seq = c.nextSeq();
        c.emit(seq, null, {
          case: "messageDeleted",
          value: create(MessageDeletedSchema, { messageId: row.id, deletedBy: 0n }),
        });
        const [message] = await viewMessages(c.tx, [updated], 0n);
        return create(DeleteMessageResponseSchema, { message, seq });
      });
    },

    async exportHistory(req) {
      const limit = pageSize(req.pageSize, 500, 5000);
      const room = await prisma.room.findUnique({
        where: { id: req.roomId },
        select: { lastSeq: true },
      });
      if (!room) throw new ConnectError(`room ${req.roomId} not found`, Code.NotFound);
      // Keyset on the primary key (room_id, seq): every page is one index
      // range, however deep into the history it starts.
      const rows = await prisma.roomEvent.findMany({
        where: { roomId: req.roomId, seq: { gt: req.afterSeq, lte: room.lastSeq } },
        orderBy: { seq: "asc" },
        take: limit,
        select: { seq: true, payload: true },
      });
      const next = rows[rows.length - 1]?.seq ?? req.afterSeq;
      return create(ExportHistoryResponseSchema, {
        events: rows.map((r) => fromBinary(RoomEventSchema, r.payload)),
        nextAfterSeq: next,
        headSeq: room.lastSeq,
        done: next >= room.lastSeq,
      });
    },
  };
}

/** MessageService: read markers and unread counts. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { MarkReadResponseSchema, type MessageService } from "../../../../gen/chat/v1/message_pb.js";
import { notJoined, readableRoom } from "../../../domain/access.js";
import { receiptsHidden } from "../../../domain/receipts.js";
import { unreadCounts } from "../../../domain/unread.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { MessageServiceDeps } from "./shared.js";
import { me } from "./shared.js";

/** markRead. */
export function readMethods({
  prisma,
  feed,
}: MessageServiceDeps): Pick<ServiceImpl<typeof MessageService>, "markRead"> {
  return {
    async markRead(req, ctx) {
      const userId = me(ctx);
      const { room, membership } = await readableRoom(prisma, req.roomId, userId);
      if (!membership) throw notJoined();
      if (req.seq > room.lastSeq) {
        throw invalidArgument([
          {
            field: "seq",
            description: `must not be beyond the room's last sequence ${room.lastSeq}`,
          },
        ]);
      }
      // Forward only: a stale or reordered call never moves the marker back.
      const moved = await prisma.membership.updateMany({
        where: { roomId: room.id, userId, state: "JOINED", lastReadSeq: { lt: req.seq } },
        data: { lastReadSeq: req.seq },
      });
      // The user's other devices clear their badges from their feeds.
      if (moved.count > 0) {
        feed.readMarkerMoved(userId, room.id, req.seq);
        // The other members see it as a receipt, unless the user hides theirs.
        if (!(await receiptsHidden(prisma, userId))) feed.receipts.moved(room.id, userId, req.seq);
      }
      const marker = await prisma.membership.findUnique({
        where: { roomId_userId: { roomId: room.id, userId } },
        select: { lastReadSeq: true },
      });
      const lastReadSeq = marker?.lastReadSeq ?? req.seq;
      const counts = (await unreadCounts(prisma, userId, [{ roomId: room.id, lastReadSeq }])).get(
        room.id,
      );
      return create(MarkReadResponseSchema, {
        lastReadSeq,
        unreadCount: counts?.unread ?? 0,
        mentionCount: counts?.mentions ?? 0,
      });
    },
  };
}

/**
 * chat.v1.ReceiptService: who has read how far (domain/receipts.ts). Live
 * receipts go out from MarkRead (messages/read.ts) through the feed hub's
 * coalescer (realtime/hub/receipt-coalescer.ts).
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  GetReceiptPrivacyResponseSchema,
  ListReadReceiptsResponseSchema,
  ReadReceiptSchema,
  type ReceiptService,
  SetReceiptPrivacyResponseSchema,
} from "../../../gen/chat/v1/receipts_pb.js";
import { receiptsHidden, roomReceipts, setReceiptsHidden } from "../../domain/receipts.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Creates the ReceiptService implementation. */
export function createReceiptService({
  prisma,
}: {
  prisma: PrismaClient;
}): ServiceImpl<typeof ReceiptService> {
  return {
    async listReadReceipts(req, ctx) {
      const { userId } = callerOf(ctx);
      const { receipts, lastSeq } = await roomReceipts(prisma, req.roomId, userId);
      return create(ListReadReceiptsResponseSchema, {
        receipts: receipts.map((r) =>
          create(ReadReceiptSchema, {
            roomId: req.roomId,
            userId: r.userId,
            lastReadSeq: r.lastReadSeq,
          }),
        ),
        lastSeq,
      });
    },
    async setReceiptPrivacy(req, ctx) {
      const { userId } = callerOf(ctx);
      const hide = await setReceiptsHidden(prisma, userId, req.hideReadReceipts);
      return create(SetReceiptPrivacyResponseSchema, { hideReadReceipts: hide });
    },
    async getReceiptPrivacy(_req, ctx) {
      const { userId } = callerOf(ctx);
      return create(GetReceiptPrivacyResponseSchema, {
        hideReadReceipts: await receiptsHidden(prisma, userId),
      });
    },
  };
}

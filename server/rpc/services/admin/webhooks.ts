/** AdminService: webhook endpoints (deliveries run in domain/webhooks/dispatcher.ts). */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  CreateWebhookResponseSchema,
  DeleteWebhookResponseSchema,
  ListWebhooksResponseSchema,
  ReplayWebhookResponseSchema,
  SetWebhookPausedResponseSchema,
  type Webhook,
  WebhookSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { decodeKinds, encodeKinds } from "../../../domain/webhooks/kinds.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { PrismaClient } from "../../../store/prisma.js";
import { startWebhookCursors, webhookLag } from "../../../store/sql/webhooks.js";
import type { AdminDeps } from "./shared.js";

type EndpointRow = Awaited<ReturnType<PrismaClient["webhookEndpoint"]["findMany"]>>[number];

/** createWebhook, listWebhooks, setWebhookPaused, replayWebhook, deleteWebhook. */
export function adminWebhookMethods({
  prisma,
  clock,
}: AdminDeps): Pick<
  ServiceImpl<typeof AdminService>,
  "createWebhook" | "listWebhooks" | "setWebhookPaused" | "replayWebhook" | "deleteWebhook"
> {
  async function view(row: EndpointRow): Promise<Webhook> {
    const now = clock.now();
    const leased = row.leaseUntil !== null && row.leaseUntil > now && !row.paused;
    return create(WebhookSchema, {
      id: row.id,
      url: row.url,
      kinds: decodeKinds(row.kinds),
      batchSize: row.batchSize,
      paused: row.paused,
      failures: row.failures,
      lastError: row.lastError,
      lastErrorTime: row.lastErrorAt ? timestampFromDate(row.lastErrorAt) : undefined,
      deliveredBatches: row.delivered,
      lagEvents: await webhookLag(prisma, row.id),
      deliveringInstance: leased ? row.leaseOwner : "",
      createTime: timestampFromDate(row.createdAt),
    });
  }

  async function endpoint(id: bigint): Promise<EndpointRow> {
    const row = await prisma.webhookEndpoint.findUnique({ where: { id } });
    if (!row) throw new ConnectError(`webhook ${id} not found`, Code.NotFound);
    return row;
  }

  return {
    async createWebhook(req) {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        throw invalidArgument([{ field: "url", description: "must be an http or https URL" }]);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw invalidArgument([{ field: "url", description: "must be an http or https URL" }]);
      }
      const row = await prisma.$transaction(async (tx) => {
        const created = await tx.webhookEndpoint.create({
          data: {
            url: url.toString(),
            secret: req.secret,
            kinds: encodeKinds(req.kinds),
            batchSize: req.batchSize === 0 ? 100 : req.batchSize,
            createdAt: clock.now(),
          },
        });
        // From now on: every existing room starts at its current head.
        await startWebhookCursors(tx, created.id);
        return created;
      });
      return create(CreateWebhookResponseSchema, { webhook: await view(row) });
    },

    async listWebhooks() {
      const rows = await prisma.webhookEndpoint.findMany({ orderBy: { id: "asc" } });
      return create(ListWebhooksResponseSchema, { webhooks: await Promise.all(rows.map(view)) });
    },

    async setWebhookPaused(req) {
      await endpoint(req.webhookId);
      const row = await prisma.webhookEndpoint.update({
        where: { id: req.webhookId },
        data: req.paused
          ? { paused: true, leaseOwner: "", leaseUntil: null }
          : { paused: false, failures: 0, nextAttemptAt: null },
      });
      return create(SetWebhookPausedResponseSchema, { webhook: await view(row) });
    },

    async replayWebhook(req) {
      await endpoint(req.webhookId);
      const room = await prisma.room.findUnique({
        where: { id: req.roomId },
        select: { lastSeq: true },
      });
      if (!room) throw new ConnectError(`room ${req.roomId} not found`, Code.NotFound);
      // bigint: no Math.min.
      let from = req.afterSeq;
      if (from > room.lastSeq) from = room.lastSeq;
      // A batch in flight is dropped: the replay starts afresh at `from`.
      await prisma.webhookCursor.upsert({
        where: { endpointId_roomId: { endpointId: req.webhookId, roomId: req.roomId } },
        create: { endpointId: req.webhookId, roomId: req.roomId, lastSeq: from, pendingUpTo: 0n },
        update: { lastSeq: from, pendingUpTo: 0n },
      });
      return create(ReplayWebhookResponseSchema, {
        webhook: await view(await endpoint(req.webhookId)),
      });
    },

    async deleteWebhook(req) {
      await endpoint(req.webhookId);
      await prisma.webhookEndpoint.delete({ where: { id: req.webhookId } });
      return create(DeleteWebhookResponseSchema, {});
    },
  };
}

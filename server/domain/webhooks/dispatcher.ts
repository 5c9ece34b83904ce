/**
 * Delivers room events to webhook endpoints: at least once, in sequence
 * order per room, read from room_events through a durable cursor per
 * endpoint and room (webhook_cursors), so nothing is lost across restarts.
 * Every instance runs a dispatcher; for each endpoint only the one holding
 * its lease (a row lock-free UPDATE with the database's clock, renewed as
 * it goes) delivers, so deliveries to one endpoint never run in parallel
 * and a dead instance's endpoints move to another once its lease expires.
 *
 * A batch is one room's events (last_seq, pending_up_to]: its end is
 * stored before it is sent, and a failed batch is sent again as it was,
 * with the same id, until it is acknowledged (any 2xx). Failures back off
 * exponentially with jitter; after `maxFailures` in a row the endpoint
 * pauses, its last error kept for the admin API.
 */
import { create, fromBinary, toJsonString } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { RoomEventSchema } from "../../../gen/chat/v1/event_pb.js";
import { WebhookBatchSchema } from "../../../gen/chat/v1/webhook_pb.js";
import type { Clock } from "../../platform/clock.js";
import type { PrismaClient } from "../../store/prisma.js";
import { releaseWebhookLeases, takeWebhookLease, webhookWork } from "../../store/sql/webhooks.js";
import { decodeKinds, wants } from "./kinds.js";
import { signWebhook } from "./signature.js";

/** Timing of deliveries. */
export interface WebhookOptions {
  /** How often each instance looks for work. */
  intervalMs: number;
  /** A delivery attempt taking longer fails. */
  timeoutMs: number;
  /** Failed attempts in a row after which an endpoint pauses. */
  maxFailures: number;
  /** Lifetime of a lease not renewed (a dead instance's endpoints wait this long). */
  leaseMs: number;
  /** First retry delay; doubles per failure (with jitter) up to 64 times it. */
  backoffMs: number;
}

/** What a POST came back with. */
export interface PostResult {
  ok: boolean;
  /** "HTTP 500", "timeout after 5000 ms", the network error... */
  error?: string;
}

/** Sends one delivery (platform/http/webhook-post.ts over fetch). */
export type WebhookPost = (
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
) => Promise<PostResult>;

/** Totals of this instance's deliveries (metrics), by endpoint id. */
export interface WebhookCounts {
  delivered: Map<string, number>;
  failed: Map<string, number>;
}

/** Rooms looked at per endpoint and tick. */
const roomsPerTick = 50;

/** Runs the deliveries this instance holds the lease for. */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly counts: WebhookCounts = { delivered: new Map(), failed: new Map() };

  constructor(
    private readonly prisma: PrismaClient,
    /** This instance, as leases name it. */
    readonly owner: string,
    private readonly post: WebhookPost,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly options: WebhookOptions,
  ) {}

  /** Starts looking for work every `intervalMs`. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((err: unknown) => this.logger.warn({ err }, "webhook tick failed"))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops, waits for the delivery in progress, and gives up this instance's leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await releaseWebhookLeases(this.prisma, this.owner).catch(() => {});
  }

  /** One round over every active endpoint. */
  async tick(): Promise<void> {
    const now = this.clock.now();
    const endpoints = await this.prisma.webhookEndpoint.findMany({
      where: { paused: false, OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }] },
    });
    for (const ep of endpoints) {
      if (this.stopped) return;
      if (!(await takeWebhookLease(this.prisma, ep.id, this.owner, this.options.leaseMs))) continue;
      await this.deliver(ep);
    }
  }

  private async deliver(ep: {
    id: bigint;
    url: string;
    secret: string;
    kinds: string;
    batchSize: number;
    failures: number;
  }): Promise<void> {
    const kinds = decodeKinds(ep.kinds);
    const work = await webhookWork(this.prisma, ep.id, roomsPerTick);
    for (const w of work) {
      if (this.stopped) return;
      // Still ours? (A pause, a long stall, or another instance that took over.)
      if (!(await takeWebhookLease(this.prisma, ep.id, this.owner, this.options.leaseMs))) return;
      const from = w.lastSeq;
      let upTo = w.pendingUpTo;
      if (upTo <= from) {
        const end = from + BigInt(ep.batchSize);
        upTo = end < w.head ? end : w.head;
        // The batch's end is stored before it is sent: a retry, here or on
        // another instance, sends exactly this batch again.
        await this.prisma.webhookCursor.upsert({
          where: { endpointId_roomId: { endpointId: ep.id, roomId: w.roomId } },
          create: { endpointId: ep.id, roomId: w.roomId, lastSeq: from, pendingUpTo: upTo },
          update: { pendingUpTo: upTo },
        });
      }
      const rows = await this.prisma.roomEvent.findMany({
        where: { roomId: w.roomId, seq: { gt: from, lte: upTo } },
        orderBy: { seq: "asc" },
        select: { payload: true },
      });
      const events = rows
        .map((r) => fromBinary(RoomEventSchema, r.payload))
        .filter((e) => wants(kinds, e));
      if (events.length > 0) {
        const id = `wh_${ep.id}_${w.roomId}_${from}_${upTo}`;
        const body = toJsonString(
          WebhookBatchSchema,
          create(WebhookBatchSchema, {
            id,
            endpointId: ep.id,
            roomId: w.roomId,
            events,
            fromSeq: from,
            toSeq: upTo,
          }),
        );
        const timestamp = Math.floor(this.clock.now().getTime() / 1000);
        const result = await this.post(
          ep.url,
          {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": signWebhook(ep.secret, id, timestamp, body),
          },
          body,
          this.options.timeoutMs,
        ).catch((err: unknown): PostResult => ({ ok: false, error: String(err) }));
        const key = String(ep.id);
        if (!result.ok) {
          this.counts.failed.set(key, (this.counts.failed.get(key) ?? 0) + 1);
          await this.failed(ep, result.error ?? "failed");
          return;
        }
        this.counts.delivered.set(key, (this.counts.delivered.get(key) ?? 0) + 1);
      }
      await this.prisma.$transaction([
        this.prisma.webhookCursor.updateMany({
          where: { endpointId: ep.id, roomId: w.roomId, lastSeq: from },
          data: { lastSeq: upTo },
        }),
        this.prisma.webhookEndpoint.update({
          where: { id: ep.id },
          data: {
            failures: 0,
            nextAttemptAt: null,
            ...(events.length > 0 ? { delivered: { increment: 1 } } : {}),
          },
        }),
      ]);
      ep.failures = 0;
    }
  }

  private async failed(ep: { id: bigint; failures: number }, error: string): Promise<void> {
    const failures = ep.failures + 1;
    const { backoffMs, maxFailures } = this.options;
    // Exponential, capped at 64 times the base, with full jitter over its upper half.
    const ceiling = backoffMs * 2 ** Math.min(failures - 1, 6);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    const now = this.clock.now();
    const pause = failures >= maxFailures;
    await this.prisma.webhookEndpoint.update({
      where: { id: ep.id },
      data: {
        failures,
        lastError: error.slice(0, 1000),
        lastErrorAt: now,
        nextAttemptAt: new Date(now.getTime() + delay),
        ...(pause ? { paused: true, leaseOwner: "", leaseUntil: null } : {}),
      },
    });
    this.logger.warn(
      { endpointId: ep.id, failures, error, retryInMs: pause ? undefined : delay },
      pause ? "webhook endpoint paused after repeated failures" : "webhook delivery failed",
    );
  }
}

/**
 * Prometheus metrics of one server (prom-client, a registry per server so
 * several servers in one process keep theirs apart): RPCs by procedure,
 * protocol and code (the direct Subscribe path and each Chat command
 * included, as they are logged), open feed streams, deliveries and bytes,
 * queue overflows, resets and replays, send batch sizes and commit
 * latency, rate-limit rejections, the database pool, Redis, and Node's
 * process metrics. Gauges are read when scraped; counters of the feed hub
 * are totals kept by the hub. Served by app.ts on `/metrics` (a port of
 * its own, or the main port behind a token).
 */
import type { Logger } from "pino";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { WebhookDispatcher } from "../domain/webhooks/dispatcher.js";
import type { RedisGate } from "../platform/redis.js";
import type { FeedHub } from "../realtime/hub/feed-hub.js";
import type { FeedStreams } from "../realtime/session/feed-streams.js";
import type { DbGate } from "../store/db-gate.js";
import type { PrismaClient } from "../store/prisma.js";
import { webhookLag } from "../store/sql/webhooks.js";
import type { SendPool } from "../store/tx.js";
import { observeRpcs } from "./interceptors/logging.js";

/** What the metrics read. */
export interface MetricsSources {
  prisma: PrismaClient;
  webhooks: WebhookDispatcher;
  logger: Logger;
  feed: FeedHub;
  streams: FeedStreams;
  dbGate: DbGate;
  redisGate: RedisGate | undefined;
  sendPool: SendPool | undefined;
}

/** A server's metrics. */
export interface Metrics {
  registry: Registry;
  /** Records one committed send batch. */
  observeBatch(size: number, seconds: number): void;
  /** The exposition text. */
  render(): Promise<string>;
  contentType: string;
  /** Stops observing calls. */
  close(): void;
}

/** Names of every metric we export (Node's process metrics aside); the dashboard test reads it. */
export const metricNames = [
  "chat_rpc_requests_total",
  "chat_rpc_duration_seconds",
  "chat_rate_limited_total",
  "chat_feed_streams_open",
  "chat_feed_deliveries_total",
  "chat_feed_bytes_total",
  "chat_feed_queue_overflows_total",
  "chat_feed_resets_total",
  "chat_feed_replays_total",
  "chat_feed_local_users",
  "chat_messages_total",
  "chat_send_batch_size",
  "chat_send_commit_seconds",
  "chat_db_pool_connections_in_use",
  "chat_db_pool_waiting",
  "chat_db_up",
  "chat_redis_connected",
  "chat_webhook_deliveries_total",
  "chat_webhook_failures_total",
  "chat_webhook_lag_events",
] as const;

/** Creates the metrics of one server. */
export function createMetrics(src: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const rpcLabels = ["procedure", "protocol", "code", "command", "path"] as const;
  const requests = new Counter({
    name: "chat_rpc_requests_total",
    help: "Finished RPCs (and Chat commands), by procedure, protocol and code",
    labelNames: rpcLabels,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "chat_rpc_duration_seconds",
    help: "RPC latency (streams: their lifetime), by procedure, protocol and code",
    labelNames: rpcLabels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600],
    registers: [registry],
  });
  const limited = new Counter({
    name: "chat_rate_limited_total",
    help: "Calls refused for a limit (RESOURCE_EXHAUSTED), by procedure",
    labelNames: ["procedure"],
    registers: [registry],
  });
  const stopObserving = observeRpcs(src.logger, (e, code, seconds) => {
    const labels = {
      procedure: e.procedure,
      protocol: e.protocol,
      code,
      command: e.command ?? "",
      path: e.path ?? "",
    };
    requests.inc(labels);
    duration.observe(labels, seconds);
    if (code === "ResourceExhausted") limited.inc({ procedure: e.procedure });
  });

  new Gauge({
    name: "chat_feed_streams_open",
    help: "Open feed streams (Subscribe and Chat) of this instance, by protocol",
    labelNames: ["protocol"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [protocol, n] of src.streams.byProtocol) this.set({ protocol }, n);
    },
  });
  const hubTotal = (name: string, help: string, read: () => number) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // Totals kept by the hub: brought up to date at each scrape.
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  hubTotal(
    "chat_feed_deliveries_total",
    "Feed frames handed to streams",
    () => src.feed.deliveryRate.total,
  );
  hubTotal(
    "chat_feed_bytes_total",
    "Bytes written to feed streams by the direct Subscribe path",
    () => src.feed.counts.bytes,
  );
  hubTotal(
    "chat_feed_queue_overflows_total",
    "Feeds cut off because their queue was full",
    () => src.feed.counts.overflows,
  );
  hubTotal(
    "chat_feed_resets_total",
    "Rooms sent `reset` on resume (too far behind)",
    () => src.feed.counts.resets,
  );
  hubTotal(
    "chat_feed_replays_total",
    "Catch-ups of a room from storage",
    () => src.feed.counts.replays,
  );
  hubTotal(
    "chat_messages_total",
    "Messages committed by this instance",
    () => src.feed.messageRate.total,
  );
  new Gauge({
    name: "chat_feed_local_users",
    help: "Users with an open feed on this instance",
    registers: [registry],
    collect() {
      this.set(src.feed.localUsers());
    },
  });
  const batchSize = new Histogram({
    name: "chat_send_batch_size",
    help: "Sends per group-committed batch",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const commit = new Histogram({
    name: "chat_send_commit_seconds",
    help: "Time of a send batch's transaction, commit included",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: "chat_db_pool_connections_in_use",
    help: "Connections of the send pool in use",
    registers: [registry],
    collect() {
      this.set(src.sendPool?.activeConnections() ?? 0);
    },
  });
  new Gauge({
    name: "chat_db_pool_waiting",
    help: "Requests waiting for a connection of the send pool",
    registers: [registry],
    collect() {
      this.set(src.sendPool?.taskQueueSize() ?? 0);
    },
  });
  new Gauge({
    name: "chat_db_up",
    help: "1 while the database answers",
    registers: [registry],
    collect() {
      let up = 1;
      try {
        src.dbGate.check();
      } catch {
        up = 0;
      }
      this.set(up);
    },
  });
  new Gauge({
    name: "chat_redis_connected",
    help: "1 while Redis answers; 0 when it does not or is not configured",
    registers: [registry],
    collect() {
      this.set(src.redisGate?.available ? 1 : 0);
    },
  });

  const endpointTotals = (name: string, help: string, read: () => Map<string, number>) => {
    const seen = new Map<string, number>();
    return new Counter({
      name,
      help,
      labelNames: ["endpoint"],
      registers: [registry],
      collect() {
        for (const [endpoint, now] of read()) {
          const before = seen.get(endpoint) ?? 0;
          if (now > before) this.inc({ endpoint }, now - before);
          seen.set(endpoint, now);
        }
      },
    });
  };
  endpointTotals(
    "chat_webhook_deliveries_total",
    "Webhook batches this instance delivered, by endpoint id",
    () => src.webhooks.counts.delivered,
  );
  endpointTotals(
    "chat_webhook_failures_total",
    "Failed webhook delivery attempts of this instance, by endpoint id",
    () => src.webhooks.counts.failed,
  );
  new Gauge({
    name: "chat_webhook_lag_events",
    help: "Events not yet delivered to each active webhook endpoint (read from the database at scrape)",
    labelNames: ["endpoint"],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const endpoints = await src.prisma.webhookEndpoint.findMany({
          where: { paused: false },
          select: { id: true },
        });
        for (const e of endpoints) {
          this.set({ endpoint: String(e.id) }, Number(await webhookLag(src.prisma, e.id)));
        }
      } catch {
        // The database is down: chat_db_up says so; no lag is reported meanwhile.
      }
    },
  });

  return {
    registry,
    observeBatch(size, seconds) {
      batchSize.observe(size);
      commit.observe(seconds);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
    close: stopObserving,
  };
}

/**
 * The metrics' exposition and the Grafana dashboard in deploy/: every
 * panel queries metrics this server exports (a renamed metric breaks the
 * dashboard here, not in production), and every chat metric we name is in
 * the exposition.
 */
import { readFileSync } from "node:fs";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { WebhookDispatcher } from "../domain/webhooks/dispatcher.js";
import type { FeedHub } from "../realtime/hub/feed-hub.js";
import type { FeedStreams } from "../realtime/session/feed-streams.js";
import type { DbGate } from "../store/db-gate.js";
import type { PrismaClient } from "../store/prisma.js";
import { logRpc } from "./interceptors/logging.js";
import { createMetrics, metricNames } from "./metrics.js";

function fakeMetrics() {
  const logger = pino({ level: "silent" });
  const feed = {
    deliveryRate: { total: 0 },
    messageRate: { total: 0 },
    counts: { bytes: 0, overflows: 0, resets: 0, replays: 0 },
    localUsers: () => 2,
  };
  const metrics = createMetrics({
    prisma: { webhookEndpoint: { findMany: async () => [] } } as unknown as PrismaClient,
    webhooks: {
      counts: { delivered: new Map(), failed: new Map() },
    } as unknown as WebhookDispatcher,
    logger,
    feed: feed as unknown as FeedHub,
    streams: { byProtocol: new Map([["grpc", 3]]) } as unknown as FeedStreams,
    dbGate: { check() {} } as unknown as DbGate,
    redisGate: undefined,
    sendPool: undefined,
  });
  return { metrics, logger, feed };
}

/** Metric family names of an exposition (from its TYPE lines), with their types. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

describe("metrics", () => {
  it("exports every named chat metric, and calls and totals move them", async () => {
    const { metrics, logger, feed } = fakeMetrics();
    const before = await metrics.render();
    for (const name of metricNames) expect(families(before).has(name), name).toBe(true);
    logRpc(logger, {
      procedure: "chat.v1.MessageService/SendMessage",
      protocol: "connect",
      kind: "unary",
      started: performance.now(),
      userId: 1n,
      err: undefined,
    });
    feed.deliveryRate.total = 5;
    metrics.observeBatch(3, 0.004);
    const after = await metrics.render();
    expect(after).toMatch(
      /chat_rpc_requests_total\{procedure="chat.v1.MessageService\/SendMessage",protocol="connect",code="ok",command="",path=""\} 1/,
    );
    expect(after).toMatch(/chat_feed_deliveries_total 5/);
    expect(after).toMatch(/chat_feed_streams_open\{protocol="grpc"\} 3/);
    expect(after).toMatch(/chat_send_batch_size_count 1/);
    metrics.close();
  });

  it("every panel of deploy/grafana-dashboard.json queries exported metrics", async () => {
    const { metrics } = fakeMetrics();
    const exported = families(await metrics.render());
    metrics.close();
    const dashboard = JSON.parse(
      readFileSync(new URL("../../deploy/grafana-dashboard.json", import.meta.url), "utf8"),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const names = expr.match(/\b(?:chat|process|nodejs)_[a-z0-9_]+/g) ?? [];
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) {
          const base = name.replace(/_(bucket|sum|count)$/, "");
          const ok = exported.has(name) || (exported.get(base) === "histogram" && base !== name);
          expect(ok, `${panel.title}: ${name} is not exported`).toBe(true);
        }
      }
    }
  });
});

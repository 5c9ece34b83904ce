/**
 * `/metrics` on a real server: behind its token on the main port and on a
 * port of its own; the text parses as Prometheus' exposition format, and
 * its values move with what clients do (calls, sends, an open feed and its
 * deliveries, Chat commands).
 */
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect, it } from "vitest";
import { httpTransport } from "../support/clients.js";
import { ChatStream, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, send } from "../support/users.js";

const token = "metrics-token-0123456789";
const { server } = setupTestEnv({ redis: true, server: { metrics: { token, port: 0 } } });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format strictly: every line is a comment, blank, or a sample of a declared family. */
function parse(text: string): Sample[] {
  const types = new Map<string, string>();
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type =
      /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type?.[1] && type[2]) {
      types.set(type[1], type[2]);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    // Values as Go's ParseFloat reads them (Prometheus does): NaN and Inf in any case.
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)$/.exec(
        line,
      );
    if (!m?.[1]) throw new Error(`not a Prometheus text line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    if (!types.has(m[1]) && !types.has(family))
      throw new Error(`sample of no declared family: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url = `${server.url}/metrics`): Promise<Sample[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
  return parse(await res.text());
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

it("is guarded by its token on the main port and served on its own port", async () => {
  expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  const wrong = await fetch(`${server.url}/metrics`, {
    headers: { authorization: "Bearer metrics-token-wrong-12345" },
  });
  expect(wrong.status).toBe(401);
  const own = server.server.metricsAddress;
  expect(own?.port).toBeGreaterThan(0);
  const res = await fetch(`http://127.0.0.1:${own?.port}/metrics`);
  expect(res.status).toBe(200);
  parse(await res.text());
  expect((await fetch(`http://127.0.0.1:${own?.port}/other`)).status).toBe(404);
});

it("parses, and its values move with calls, sends, feeds and Chat commands", async () => {
  const t = httpTransport(server.url);
  const before = await scrape();
  expect(value(before, "process_resident_memory_bytes")).toBeGreaterThan(0);
  expect(value(before, "chat_db_up")).toBe(1);
  expect(value(before, "chat_redis_connected")).toBe(1);

  const alice = await newUser(t);
  const bob = await newUser(t);
  const room = await newRoom(alice, [bob]);
  const feed = FeedReader.open(bob.feed);
  await feed.ready();
  for (let i = 0; i < 3; i++) await send(alice, room, `m${i}`);
  await feed.take(3);
  const chat = new ChatStream(
    alice.on(createConnectTransport({ baseUrl: server.url, httpVersion: "2" })).feed,
  );
  const id = chat.command({ case: "ping", value: {} });
  await chat.until((r) => r.response.case === "ack" && r.response.value.requestId === id);

  const after = await scrape();
  const sends = {
    procedure: "chat.v1.MessageService/SendMessage",
    code: "ok",
    protocol: "connect",
  };
  expect(
    value(after, "chat_rpc_requests_total", sends) -
      value(before, "chat_rpc_requests_total", sends),
  ).toBe(3);
  expect(value(after, "chat_rpc_duration_seconds_count", sends)).toBeGreaterThanOrEqual(3);
  expect(value(after, "chat_rpc_requests_total", { command: "ping" })).toBeGreaterThanOrEqual(1);
  expect(
    value(after, "chat_messages_total") - value(before, "chat_messages_total"),
  ).toBeGreaterThanOrEqual(3);
  expect(value(after, "chat_send_batch_size_sum") - value(before, "chat_send_batch_size_sum")).toBe(
    3,
  );
  expect(value(after, "chat_send_commit_seconds_count")).toBeGreaterThan(0);
  expect(value(after, "chat_feed_streams_open", { protocol: "connect" })).toBe(2); // Subscribe and Chat
  expect(
    value(after, "chat_feed_deliveries_total") - value(before, "chat_feed_deliveries_total"),
  ).toBeGreaterThanOrEqual(4);
  expect(value(after, "chat_feed_bytes_total")).toBeGreaterThan(
    value(before, "chat_feed_bytes_total"),
  );
  feed.close();
  chat.close();
});

/**
 * The direct Subscribe path (server/rpc/direct/direct-subscribe.ts) on a real
 * server: every wire format it takes (Connect proto/JSON over HTTP/1.1 and
 * HTTP/2, gRPC proto/JSON, gRPC-Web proto/JSON) delivers `ready` and live
 * events, and fails with the same codes and details as connect-node; the
 * requests it must not take (compressed, with a deadline) still work
 * through connect-node. The log line's `path` tells which path served.
 */
import { type Client, Code, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { beforeAll, expect, describe as group, it } from "vitest";
import type { ErrorReason } from "../../gen/chat/v1/errors_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { authed, httpTransport } from "../support/clients.js";
import { badFields, reasonOf } from "../support/errors.js";
import { describe, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { captureLogs } from "../support/server.js";
import { newRoom, roomOfTwo, send, type TestUser } from "../support/users.js";

const { logger, lines: logs } = captureLogs();
const { server } = setupTestEnv({
  instances: 0,
  server: { logger, feed: { heartbeatMs: 400 } },
});
let alice: TestUser;
let bob: TestUser;
let room: bigint;
beforeAll(
  async () => ({ alice, bob, room } = await roomOfTwo(httpTransport(server.url), "direct")),
);

/** Log lines of Subscribe calls, and which path served each. */
function subscribeLines(): { path: unknown; protocol: unknown; code: unknown }[] {
  return logs
    .filter((l) => l.procedure === "chat.v1.FeedService/Subscribe")
    .map((l) => ({ path: l.path, protocol: l.protocol, code: l.code }));
}

/** Waits until the Subscribe log has `n` lines (streams log when they end). */
async function linesAtLeast(n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (subscribeLines().length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} Subscribe log lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const transports: [string, string, () => Transport][] = [
  [
    "Connect proto, HTTP/1.1",
    "connect",
    () =>
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: true }),
  ],
  [
    "Connect JSON, HTTP/1.1",
    "connect",
    () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  ],
  [
    "Connect proto, HTTP/2",
    "connect",
    () => createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
  ],
  ["gRPC proto", "grpc", () => createGrpcTransport({ baseUrl: server.url })],
  ["gRPC JSON", "grpc", () => createGrpcTransport({ baseUrl: server.url, useBinaryFormat: false })],
  [
    "gRPC-Web proto, HTTP/1.1",
    "grpc-web",
    () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  ],
  [
    "gRPC-Web JSON, HTTP/1.1",
    "grpc-web",
    () =>
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
  ],
  [
    "gRPC-Web proto, HTTP/2",
    "grpc-web",
    () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" }),
  ],
];

group("direct Subscribe", () => {
  it.each(transports)(
    "%s: ready, a live message, heartbeats, then the direct log line",
    async (_name, protocol, make) => {
      const before = subscribeLines().length;
      const feed = FeedReader.open(authed(FeedService, make(), bob.token));
      try {
        const ready = await feed.ready();
        expect(ready.rooms.map((r) => r.roomId)).toContain(room);
        const seq = await send(alice, room, `hello over ${protocol}`);
        expect(describe(await feed.next())).toBe(
          `${room}:${seq}:messageCreated:hello over ${protocol}`,
        );
        // Idle now: the process-wide sweep sends heartbeats (every 400 ms here).
        let ev = await feed.nextAny(3_000);
        while (ev.case !== "heartbeat") ev = await feed.nextAny(3_000);
        expect(ev.value.serverTime).toBeDefined();
      } finally {
        feed.close();
      }
      await linesAtLeast(before + 1);
      expect(subscribeLines().at(-1)).toEqual({ path: "direct", protocol, code: "Canceled" });
    },
  );

  it("errors carry the same codes and details on every protocol", async () => {
    for (const [name, , make] of transports) {
      const t = make();
      const noToken = createClientFor(t);
      const bad = FeedReader.open(noToken);
      const e1 = (await bad.error()).error;
      expect(Code[e1.code], name).toBe("Unauthenticated");
      expect(reasonOf(e1), name).toBe("TOKEN_INVALID" satisfies keyof typeof ErrorReason);

      const feed = authed(FeedService, t, bob.token);
      const beyond = FeedReader.open(feed, { positions: [{ roomId: room, lastSeq: 1_000_000n }] });
      const e2 = (await beyond.error()).error;
      expect(Code[e2.code], name).toBe("InvalidArgument");
      expect(badFields(e2), name).toEqual(["positions[0].last_seq"]);

      const foreign = await newRoom(alice);
      const notMine = FeedReader.open(feed, { positions: [{ roomId: foreign, lastSeq: 0n }] });
      expect(Code[(await notMine.error()).error.code], name).toBe("NotFound");
    }
    expect(subscribeLines().filter((l) => l.path !== "direct")).toEqual([]);
  });

  it("answers a malformed body with InvalidArgument in the Connect end message", async () => {
    const res = await fetch(`${server.url}/chat.v1.FeedService/Subscribe`, {
      method: "POST",
      headers: {
        "content-type": "application/connect+proto",
        authorization: `Bearer ${bob.token}`,
      },
      body: new Uint8Array([0, 0, 0, 0, 9, 1, 2]),
    });
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body[0]).toBe(2); // end-of-stream flag
    const end = JSON.parse(Buffer.from(body.subarray(5)).toString());
    expect(end.error.code).toBe("invalid_argument");
  });

  it("leaves compressed requests and deadlines to connect-node, which serves them alike", async () => {
    const before = subscribeLines().length;
    const gzip = createConnectTransport({
      baseUrl: server.url,
      httpVersion: "1.1",
      sendCompression: compressionGzip,
    });
    const compressed = FeedReader.open(authed(FeedService, gzip, bob.token));
    const ac = new AbortController();
    const withDeadline = new FeedReader(
      authed(FeedService, createGrpcTransport({ baseUrl: server.url }), bob.token).subscribe(
        { positions: [] },
        { timeoutMs: 60_000, signal: ac.signal },
      ),
      ac,
    );
    try {
      await compressed.ready();
      await withDeadline.ready();
      const seq = await send(alice, room, "through connect-node");
      const want = `${room}:${seq}:messageCreated:through connect-node`;
      expect(describe(await compressed.next())).toBe(want);
      expect(describe(await withDeadline.next())).toBe(want);
    } finally {
      compressed.close();
      withDeadline.close();
    }
    await linesAtLeast(before + 2);
    const lines = subscribeLines().slice(before);
    expect(lines.map((l) => l.path)).toEqual([undefined, undefined]);
  });
});

function createClientFor(t: Transport): Client<typeof FeedService> {
  return authed(FeedService, t, "ct_not_a_real_token");
}

/**
 * A client may ask for its own heartbeat interval, so it notices a frozen
 * server (a paused process keeps its sockets open) within a few seconds,
 * on the direct path and through connect-node alike.
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { authed } from "../support/clients.js";
import { inMemoryTransport } from "../support/env.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser } from "../support/users.js";

const { env, server } = setupTestEnv({ instances: 0, server: true });

const transports: [string, () => Transport][] = [
  [
    "direct path (Connect HTTP/1.1)",
    () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  ],
  ["direct path (gRPC)", () => createGrpcTransport({ baseUrl: server.url })],
  ["connect-node (in memory)", () => inMemoryTransport(env)],
];

describe.each(transports)("heartbeat_interval_ms over %s", (_name, transport) => {
  it("is honoured, announced in ready, and bounded", async () => {
    const t = transport();
    const alice = await newUser(t, "hb");
    const feed = FeedReader.open(authed(FeedService, t, alice.token), {
      heartbeatIntervalMs: 1_000,
    });
    const ready = await feed.ready();
    expect(ready.heartbeatIntervalMs).toBe(1_000);
    const started = Date.now();
    const ev = await feed.nextAny(5_000);
    expect(ev.case).toBe("heartbeat");
    // Well under the 15 s default.
    expect(Date.now() - started).toBeLessThan(4_000);
    feed.close();

    const bad = FeedReader.open(authed(FeedService, t, alice.token), { heartbeatIntervalMs: 500 });
    const { error } = await bad.error();
    expect(Code[ConnectError.from(error).code]).toBe(Code[Code.InvalidArgument]);
  });
});

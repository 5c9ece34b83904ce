/**
 * MariaDB killed (SIGKILL, a private mariadbd this test starts) under a
 * real server: writes fail fast with Unavailable, RetryInfo and the
 * DEPENDENCY_UNAVAILABLE reason (not after a pool timeout each, not as
 * Internal), Chat commands likewise; readiness drops while liveness stays;
 * open feeds stay up. After MariaDB restarts (crash recovery), everything
 * works again with no restart of the server.
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { ChatStream, FeedReader } from "../support/feed.js";
import { type PrivateService, startPrivateMariaDb } from "../support/private-services.js";
import { startServer } from "../support/server.js";
import { sleep } from "../support/timing.js";
import { roomOfTwo, type TestUser } from "../support/users.js";

let db: PrivateService;
let env: TestEnv;
let url: string;
let h1: Transport;
let alice: TestUser;
let bob: TestUser;
let roomId: bigint;

beforeAll(async () => {
  db = await startPrivateMariaDb();
  env = await createTestEnv({ mysqlUrl: db.url });
  ({ url } = await startServer(env, { feed: { heartbeatMs: 1_000 } }));
  h1 = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
  ({ alice, bob, room: roomId } = await roomOfTwo(h1, "db"));
}, 120_000);

afterAll(async () => {
  if (!db.running) await db.start();
  await env?.close();
  await db?.destroy();
});

function expectUnavailable(err: unknown): void {
  const ce = ConnectError.from(err);
  expect(Code[ce.code]).toBe(Code[Code.Unavailable]);
  const info = ce.findDetails(ErrorInfoSchema)[0];
  expect(info?.reason).toBe("DEPENDENCY_UNAVAILABLE");
  const retry = ce.findDetails(RetryInfoSchema)[0];
  expect(retry?.retryDelay).toBeDefined();
}

describe("MariaDB killed and restarted", () => {
  it("fails writes fast with Unavailable, keeps feeds up, and recovers by itself", async () => {
    const feed = FeedReader.open(bob.feed);
    await feed.ready();
    const chat = new ChatStream(alice.on(createGrpcTransport({ baseUrl: url })).feed);
    chat.command({ case: "ping", value: {} }, "warm");
    await chat.until((r) => r.response.case === "ack");
    await db.kill();
    // Give the gate's watcher connection a moment to see the socket close.
    await sleep(200);

    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      try {
        await alice.msgs.sendMessage({ roomId, text: "x", clientMsgId: `down-${i}` });
        throw new Error("send succeeded with the database down");
      } catch (err) {
        expectUnavailable(err);
      }
      // Far below the pool's 10 s acquire timeout.
      expect(performance.now() - t).toBeLessThan(2_000);
    }
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.mysql).not.toBe(
      "ok",
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // A Chat command gets its error with the same details, the stream stays.
    chat.command(
      { case: "sendMessage", value: { roomId, text: "via chat", clientMsgId: "chat-down" } },
      "c1",
    );
    const answer = (await chat.until((r) => r.response.case !== "event")).at(-1);
    if (!answer) throw new Error("no answer");
    expect(answer.response.case).toBe("error");
    if (answer.response.case === "error") {
      expect(answer.response.value.code).toBe("unavailable");
      const types = answer.response.value.details.map((d) => d.typeUrl);
      expect(types).toContain(`type.googleapis.com/${RetryInfoSchema.typeName}`);
      expect(types).toContain(`type.googleapis.com/${ErrorInfoSchema.typeName}`);
    }

    // The open feed is still there: heartbeats keep coming, no error.
    const during = await feed.reader.drain(2_500);
    expect(feed.reader.outcome).toBeUndefined();
    expect(during.length).toBeGreaterThan(0);

    await db.start();
    const deadline = Date.now() + 30_000;
    let sent: bigint | undefined;
    while (sent === undefined) {
      try {
        const res = await alice.msgs.sendMessage({ roomId, text: "back", clientMsgId: "back-1" });
        sent = res.message?.seq;
      } catch (err) {
        expectUnavailable(err);
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
    const evs = await feed.until((e) => e.case === "roomEvent" && e.value.seq === sent, 10_000);
    expect(evs.at(-1)?.case).toBe("roomEvent");
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    feed.close();
    chat.close();
  }, 90_000);
});

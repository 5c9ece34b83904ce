/**
 * Feed scenarios that can freeze a broken server, run in a child process so
 * that such a server fails the test (by timeout) instead of freezing the
 * test runner. Started by runScenario() (helpers.ts):
 *
 *   node --import tsx test/feed/scenarios.ts <scenario> <database-url> <redis-prefix> [args...]
 *
 * stall-memory|stall-grpc <queue-limit> <count>: one subscriber stops
 *   reading while <count> messages are sent, another on the same instance
 *   reads everything; then the stalled one reads again and, after its
 *   stream failed, reconnects from what it saw.
 * replay-abort: a client disconnects while its replay is in flight and a
 *   live event of the room is held; the instance must keep serving.
 *
 * Prints one JSON line with what happened; the test judges it.
 */
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import {
  FeedService,
  SubscribeRequestSchema,
  SubscribeResponseSchema,
} from "../../gen/chat/v1/feed_pb.js";
import { type ChatServerDeps, createChatServer, createRpc } from "../../server/app.js";
import { createPrisma } from "../../server/store/prisma.js";
import { authed } from "../support/clients.js";
import { testDeps, testRedisUrl } from "../support/env.js";
import { describe, evOf, FeedReader, roomEvents } from "../support/feed.js";
import { Gate, gatedPrisma } from "../support/gates.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

/** What the scenario reports. */
export interface StallReport {
  /** "ok", or how the reader failed. */
  healthyEnd: string;
  resumedEnd: string;
  /** Seqs the healthy reader got, in order. */
  healthy: string[];
  /** Milliseconds from the last send to the healthy reader's last event. */
  healthyLagMs: number;
  sendMs: number;
  /** Seqs the stalled reader got once it read again, then its end. */
  stalled: string[];
  stalledEnd: string;
  /** Seqs after reconnecting from the last one it saw. */
  resumed: string[];
}

async function main(): Promise<void> {
  const [scenario, databaseUrl, redisPrefix, ...args] = process.argv.slice(2);
  if (!scenario || !databaseUrl || !redisPrefix) {
    throw new Error("usage: scenarios.ts <scenario> <database-url> <redis-prefix> [args...]");
  }
  const prisma = createPrisma(databaseUrl);
  const redis = new Redis(testRedisUrl);
  const deps = testDeps({ prisma, redis, redisPrefix });
  try {
    let report: unknown;
    if (scenario === "stall-memory" || scenario === "stall-grpc") {
      const [queueLimit, count] = args.map(Number);
      report = await stall(scenario, { ...deps, feed: { queueLimit } }, Number(count));
    } else if (scenario === "replay-abort") {
      report = await replayAbort(deps);
    } else {
      throw new Error(`unknown scenario ${scenario}`);
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    redis.disconnect();
    await prisma.$disconnect();
  }
}

/** The stalled-consumer scenario on an in-memory instance or the real server. */
async function stall(mode: "stall-memory" | "stall-grpc", deps: ChatServerDeps, count: number) {
  let control: Transport;
  let makeStalled: (token: string, roomId: bigint) => Stalled;
  let stop: () => Promise<void>;
  if (mode === "stall-memory") {
    const rpc = createRpc(deps);
    const t = createRouterTransport(rpc.routes, { router: { interceptors: rpc.interceptors } });
    control = t;
    makeStalled = (token, roomId) => connectStalled(t, token, roomId);
    stop = () => rpc.close();
  } else {
    const server = createChatServer(deps);
    const { port } = await server.listen(0, "127.0.0.1");
    const url = `http://127.0.0.1:${port}`;
    control = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
    // gRPC over HTTP/2: flow control stops the handler when nobody reads.
    makeStalled = (token, roomId) => h2Stalled(url, token, roomId);
    stop = () => server.shutdown(1_000);
  }
  try {
    return await stallScenario(control, makeStalled, control, count);
  } finally {
    await stop();
  }
}

/** A subscriber that reads `ready`, then stops reading until told. */
interface Stalled {
  ready(): Promise<void>;
  /** Reads again: room event seqs until the stream ends, and how it ended. */
  resume(ms: number): Promise<{ seqs: string[]; end: string }>;
  close(): void;
}

/** A stalled reader on a Connect transport (in memory: pulls nothing more). */
function connectStalled(t: Transport, token: string, roomId: bigint): Stalled {
  const feed = FeedReader.open(authed(FeedService, t, token), {
    positions: [{ roomId, lastSeq: 1n }],
  });
  return {
    ready: async () => {
      await feed.ready();
    },
    resume: (ms) =>
      feed.error(ms).then(
        (r) => ({ seqs: roomEvents(r.events).map((e) => String(e.seq)), end: Code[r.error.code] }),
        (err: unknown) => ({
          seqs: roomEvents(feed.reader.seen.slice(1).map(evOf)).map((e) => String(e.seq)),
          end: `no error: ${String(err)}`,
        }),
      ),
    close: () => feed.close(),
  };
}

/**
 * A stalled reader speaking gRPC over a raw HTTP/2 connection with the
 * default 64 KiB flow-control windows, paused after `ready`: the server can
 * send only that much, then its writes wait for the reader.
 */
function h2Stalled(url: string, token: string, roomId: bigint): Stalled {
  const session = http2.connect(url, { settings: { initialWindowSize: 65_535 } });
  session.on("error", () => {});
  const req = session.request({
    ":method": "POST",
    ":path": "/chat.v1.FeedService/Subscribe",
    "content-type": "application/grpc+proto",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  req.on("error", () => {});
  const body = toBinary(
    SubscribeRequestSchema,
    create(SubscribeRequestSchema, { positions: [{ roomId, lastSeq: 1n }] }),
  );
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  req.end(Buffer.concat([head, body]));
  let pending = Buffer.alloc(0);
  const seqs: string[] = [];
  let sawReady: () => void = () => {};
  const readyP = new Promise<void>((r) => {
    sawReady = r;
  });
  req.on("data", (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(1);
      if (pending.length < 5 + len) break;
      const ev = fromBinary(SubscribeResponseSchema, pending.subarray(5, 5 + len)).event?.event;
      pending = pending.subarray(5 + len);
      if (ev?.case === "ready") {
        req.pause();
        sawReady();
      }
      if (ev?.case === "roomEvent") seqs.push(String(ev.value.seq));
    }
  });
  const ended = new Promise<string>((resolve) => {
    req.on("trailers", (t) => {
      const status = Number(t["grpc-status"]);
      resolve(status === 0 ? "ended" : (Code[status] ?? `grpc-status ${status}`));
    });
    req.on("close", () => resolve("closed without trailers"));
  });
  return {
    ready: () => readyP,
    resume: async (ms) => {
      req.resume();
      let timer: NodeJS.Timeout | undefined;
      const end = await Promise.race([
        ended,
        new Promise<string>((r) => {
          timer = setTimeout(() => r(`no error: nothing ended the stream within ${ms} ms`), ms);
        }),
      ]);
      clearTimeout(timer);
      return { seqs, end };
    },
    close: () => {
      req.close();
      session.close();
    },
  };
}

async function stallScenario(
  control: Transport,
  makeStalled: (token: string, roomId: bigint) => Stalled,
  healthyT: Transport,
  COUNT: number,
): Promise<StallReport> {
  const owner = await newUser(control, "stall");
  const slow = await newUser(control, "stall");
  const fast = await newUser(control, "stall");
  const roomId = await newRoom(owner, [slow, fast]);
  // 2 KB per message: 100 of them are far more than the 64 KiB window.
  const body = "x".repeat(2_000);
  const positions = [{ roomId, lastSeq: 1n }];
  const stalled = makeStalled(slow.token, roomId);
  const healthy = FeedReader.open(authed(FeedService, healthyT, fast.token), { positions });
  try {
    await stalled.ready();
    await healthy.ready();
    const started = Date.now();
    const got: string[] = [];
    let lastAt = 0;
    const reading = (async () => {
      while (got.length < COUNT) {
        for (const e of roomEvents([await healthy.next(30_000)])) {
          got.push(String(e.seq));
          lastAt = Date.now();
        }
      }
      return "ok";
    })().catch(errorName);
    const senders: TestUser[] = [owner, fast];
    let n = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = n++; i < COUNT; i = n++)
          await send(senders[i % 2] as TestUser, roomId, `${i}:${body}`);
      }),
    );
    const sentAt = Date.now();
    const healthyEnd = await reading;
    const cut = await stalled.resume(10_000);
    const last = BigInt(cut.seqs.at(-1) ?? "1");
    const resumedFeed = FeedReader.open(authed(FeedService, healthyT, slow.token), {
      positions: [{ roomId, lastSeq: last }],
    });
    const resumed: string[] = [];
    let resumedEnd = "ok";
    try {
      await resumedFeed.ready();
      while (BigInt(resumed.at(-1) ?? last) < BigInt(COUNT + 1)) {
        for (const e of roomEvents([await resumedFeed.next(10_000)])) resumed.push(String(e.seq));
      }
    } catch (err) {
      resumedEnd = errorName(err);
    } finally {
      resumedFeed.close();
    }
    return {
      healthyEnd,
      resumedEnd,
      healthy: got,
      healthyLagMs: lastAt - sentAt,
      sendMs: sentAt - started,
      stalled: cut.seqs,
      stalledEnd: String(cut.end),
      resumed,
    };
  } finally {
    stalled.close();
    healthy.close();
  }
}

/** What replay-abort reports. */
export interface ReplayAbortReport {
  /** Labels the watcher saw after the disconnect (the instance still works). */
  after: string[];
  /** Milliseconds the instance took to deliver the message sent afterwards. */
  lagMs: number;
}

/**
 * A client disconnects while its catch-up read is in flight and a live
 * event of the room is held behind it; then the instance must go on.
 */
async function replayAbort(deps: ChatServerDeps): Promise<ReplayAbortReport> {
  const replayRead = new Gate();
  const rpc = createRpc({ ...deps, prisma: gatedPrisma(deps.prisma, { replayRead }) });
  const t = createRouterTransport(rpc.routes, { router: { interceptors: rpc.interceptors } });
  try {
    const alice = await newUser(t, "abort");
    const bob = await newUser(t, "abort");
    const roomId = await newRoom(alice, [bob]);
    for (let i = 0; i < 5; i++) await send(bob, roomId, `old${i}`);
    // Bob watches the room live on the same instance (same room hub).
    const watcher = FeedReader.open(bob.feed);
    await watcher.ready();
    const held = replayRead.arm();
    const leaving = FeedReader.open(alice.feed, { positions: [{ roomId, lastSeq: 1n }] });
    await leaving.ready();
    // Alice's catch-up (events 2..6) has been read and is held there.
    await held.reached;
    const live = await send(bob, roomId, "live while replaying");
    await watcher.until((e) => e.case === "roomEvent" && e.value.seq === live);
    // Alice goes away mid-replay; then the read completes.
    leaving.close();
    await new Promise((r) => setTimeout(r, 100));
    held.release();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const next = await send(bob, roomId, "after the disconnect");
    const after = (await watcher.until((e) => e.case === "roomEvent" && e.value.seq === next)).map(
      describe,
    );
    watcher.close();
    return { after, lagMs: Date.now() - started };
  } finally {
    await rpc.close();
  }
}

/** A Connect error as its code name; anything else as text. */
function errorName(err: unknown): string {
  return err instanceof ConnectError ? `${Code[err.code]}: ${err.rawMessage}` : String(err);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

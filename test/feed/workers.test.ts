/**
 * Several processes on one port (WORKERS, server/platform/process-cluster.ts):
 * connections spread over the workers, a message sent through one worker
 * reaches feeds on every worker (through the Redis broker), a worker that
 * dies is replaced while its siblings keep serving, and SIGTERM stops all.
 */
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, describe as group, it } from "vitest";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { authed } from "../support/clients.js";
import { describe, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { envServerProcess, type ServerProcess } from "../support/processes.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env } = setupTestEnv({ redis: true, instances: 0 });
let server: ServerProcess;
let alice: TestUser;
let bob: TestUser;
let room: bigint;

/** A transport on a connection of its own (HTTP/1.1, no keep-alive reuse across transports). */
const ownConnection = () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" });

/** Worker pids that logged an RPC. */
function rpcPids(): Set<number> {
  const pids = new Set<number>();
  for (const line of server.process?.lines ?? []) {
    if (!line.startsWith("{")) continue;
    const l = JSON.parse(line) as { msg?: string; pid?: number };
    if (l.msg === "rpc" && l.pid) pids.add(l.pid);
  }
  return pids;
}

beforeAll(async () => {
  server = await envServerProcess(env, { WORKERS: "2", LOG_LEVEL: "info" });
  alice = await newUser(ownConnection(), "workers");
  bob = await newUser(ownConnection(), "workers");
  room = await newRoom(alice, [bob]);
}, 120_000);
afterAll(() => server?.stop("SIGKILL"));

group("WORKERS=2", () => {
  it("spreads connections over both workers, and feeds on each get every message", async () => {
    const feeds: FeedReader[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const feed = FeedReader.open(authed(FeedService, ownConnection(), bob.token));
        await feed.ready();
        feeds.push(feed);
      }
      // Calls on connections of their own, until both workers have served one (the second
      // may still be starting when /healthz first answers).
      await eventually(
        async () => {
          await bob.on(ownConnection()).users.getMe({});
          return rpcPids().size === 2;
        },
        20_000,
        "RPCs on both workers",
      );
      const seq = await send({ ...alice, ...alice.on(ownConnection()) }, room, "to every worker");
      for (const feed of feeds) {
        expect(describe(await feed.next())).toBe(`${room}:${seq}:messageCreated:to every worker`);
      }
    } finally {
      for (const f of feeds) f.close();
    }
  });

  it("replaces a worker that dies; the other keeps serving", async () => {
    const [victim] = rpcPids();
    expect(victim).toBeDefined();
    process.kill(victim as number, "SIGKILL");
    await eventually(
      () => server.process?.lines.some((l) => l.includes('"msg":"worker exited"')) ?? false,
      15_000,
      "the primary noticing",
    );
    // Every call succeeds, whichever worker takes it (the replacement once it listens).
    for (let i = 0; i < 6; i++) {
      const seq = await send(
        { ...alice, ...alice.on(ownConnection()) },
        room,
        `after the crash ${i}`,
      );
      expect(seq).toBeGreaterThan(0n);
    }
    expect([...rpcPids()].filter((p) => p !== victim).length).toBeGreaterThanOrEqual(1);
  });

  it("stops every worker on SIGTERM and exits 0", async () => {
    const proc = server.process;
    expect(proc).toBeDefined();
    await server.stop("SIGTERM");
    expect(await proc?.exited).toBe(0);
    for (const pid of rpcPids()) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  });
});

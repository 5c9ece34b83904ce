/**
 * Redis goes away (SIGKILL: it comes back empty, like a cache node) or
 * stops answering (SIGSTOP), on a private redis-server this test starts.
 * While it is down: authenticated calls do not wait on it, new feeds open,
 * feeds of the instance that commits keep flowing, sends commit. When it is
 * back: the other instance's feeds get what they missed, with no restart;
 * the bus subscriptions (also one whose first SUBSCRIBE failed while a
 * second subscriber waited on it) carry messages again.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { createLogger } from "../../server/platform/logger.js";
import { RedisBroker } from "../../server/realtime/bus/broker.js";
import { authed } from "../support/clients.js";
import { createTestEnv, inMemoryInstance, type TestEnv } from "../support/env.js";
import { FeedReader, roomEvents } from "../support/feed.js";
import { type PrivateService, startPrivateRedis } from "../support/private-services.js";
import { sleep } from "../support/timing.js";
import { newRoom, newUser, send } from "../support/users.js";

let redis: PrivateService;
let env: TestEnv;

beforeAll(async () => {
  redis = await startPrivateRedis();
  env = await createTestEnv({ redisUrl: redis.url });
}, 60_000);

afterAll(async () => {
  if (!redis.running) await redis.start();
  await env?.close();
  await redis?.destroy();
});

/** Waits until the shared test connection is usable again. */
async function redisBack(): Promise<void> {
  await redis.start();
  const deadline = Date.now() + 10_000;
  while (env.redis?.status !== "ready") {
    if (Date.now() > deadline) throw new Error("redis connection did not come back");
    await sleep(20);
  }
}

const until = (text: string) => (e: { case?: string; value?: unknown }) =>
  e.case === "roomEvent" &&
  (e.value as { change: { case?: string; value?: { message?: { text?: string } } } }).change.value
    ?.message?.text === text;

describe("Redis killed", () => {
  it("degrades without stalling, then heals every feed with no restart", async () => {
    const a = inMemoryInstance(env, { feed: { headCheckMs: 0 } });
    const b = inMemoryInstance(env, { feed: { headCheckMs: 0 } });
    const alice = await newUser(a.transport, "rk");
    const bob = await newUser(b.transport, "rk");
    const roomId = await newRoom(alice, [bob]);
    const aliceFeed = FeedReader.open(alice.feed);
    const bobFeed = FeedReader.open(bob.feed);
    await aliceFeed.ready();
    await bobFeed.ready();
    await send(alice, roomId, "before");
    await aliceFeed.until(until("before"));
    await bobFeed.until(until("before"));

    await redis.kill();
    // Authenticated calls: the session cache is skipped, not waited for.
    const me = authed(UserService, a.transport, alice.token);
    const took: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await me.getMe({});
      took.push(performance.now() - t);
    }
    took.sort((x, y) => x - y);
    // ~3 s each before (ioredis retries); far below that now.
    expect(took.at(-1)).toBeLessThan(1_500);

    // New feeds open; the committing instance's feeds keep flowing.
    const carol = await newUser(a.transport, "rk");
    const carolFeed = FeedReader.open(carol.feed);
    await carolFeed.ready();
    await send(alice, roomId, "during");
    await aliceFeed.until(until("during"));

    await redisBack();
    // Bob's instance missed the publish: it reads it back once the bus is whole.
    const evs = await bobFeed.until(until("during"), 15_000);
    const seqs = roomEvents(evs).map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // And live traffic crosses instances again.
    await send(alice, roomId, "after");
    await bobFeed.until(until("after"), 10_000);
    for (const f of [aliceFeed, bobFeed, carolFeed]) f.close();
  }, 60_000);
});

describe("Redis paused", () => {
  it("bounds what a call waits, and heals when it answers again", async () => {
    const a = inMemoryInstance(env, { feed: { headCheckMs: 0 } });
    const b = inMemoryInstance(env, { feed: { headCheckMs: 0 } });
    const alice = await newUser(a.transport, "rp");
    const bob = await newUser(b.transport, "rp");
    const roomId = await newRoom(alice, [bob]);
    const bobFeed = FeedReader.open(bob.feed);
    await bobFeed.ready();

    redis.pause();
    try {
      const me = authed(UserService, a.transport, alice.token);
      const took: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        await me.getMe({});
        took.push(performance.now() - t);
      }
      expect(Math.max(...took)).toBeLessThan(1_500);
      await send(alice, roomId, "while paused");
    } finally {
      redis.resume();
    }
    await bobFeed.until(until("while paused"), 15_000);
    bobFeed.close();
  }, 60_000);
});

describe("a channel whose first SUBSCRIBE fails while a second subscriber waits", () => {
  it("is subscribed again: both subscribers get later messages", async () => {
    const logger = createLogger("silent");
    const subConn = new Redis(redis.url);
    const pubConn = new Redis(redis.url);
    const prefix = `${env.redisPrefix}bus-test:`;
    const subscriber = new RedisBroker(subConn, prefix, logger, {
      subscribeWaitMs: 300,
      repairEveryMs: 200,
    });
    const publisher = new RedisBroker(pubConn, prefix, logger);
    let resyncs = 0;
    subscriber.onResync(() => resyncs++);
    try {
      await sleep(200);
      redis.pause();
      const got: string[] = [];
      const [stop1, stop2] = await Promise.all([
        subscriber.subscribe("x", (b) => got.push(`1:${Buffer.from(b)}`)),
        subscriber.subscribe("x", (b) => got.push(`2:${Buffer.from(b)}`)),
      ]);
      redis.resume();
      const deadline = Date.now() + 10_000;
      while (resyncs === 0 && Date.now() < deadline) await sleep(50);
      expect(resyncs).toBeGreaterThan(0);
      await publisher.publish("x", Buffer.from("hello"));
      while (got.length < 2 && Date.now() < deadline) await sleep(20);
      expect(got.sort()).toEqual(["1:hello", "2:hello"]);
      stop1();
      stop2();
    } finally {
      await subscriber.close();
      await publisher.close();
      subConn.disconnect();
      pubConn.disconnect();
    }
  }, 30_000);
});

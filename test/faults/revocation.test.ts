/**
 * Revocation can never be undone: a token lookup that read the session
 * just before it was revoked must not put it back into the cache (memory
 * and Redis), and an open feed of a revoked session ends on every instance
 * even when the revocation notice on the bus is lost.
 */
import { Code } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { createLogger } from "../../server/platform/logger.js";
import { type Broker, RedisBroker } from "../../server/realtime/bus/broker.js";
import { authed } from "../support/clients.js";
import { inMemoryInstance } from "../support/env.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { Gate } from "../support/gates.js";
import { newUser } from "../support/users.js";

/** Holds a session lookup by token hash after it has read the row. */
function gatedSessions(prisma: PrismaClient, gate: Gate): PrismaClient {
  return prisma.$extends({
    query: {
      session: {
        async findUnique({ args, query }) {
          const row = await query(args);
          if ((args.where as { tokenHash?: unknown }).tokenHash) await gate.pass();
          return row;
        },
      },
    },
  }) as unknown as PrismaClient;
}

describe.each([
  ["in-process cache", false],
  ["Redis cache", true],
])("a lookup racing a revocation (%s)", (_name, redis) => {
  const { env } = setupTestEnv({ redis, instances: 0 });

  it("never caches the revoked session as valid", async () => {
    const gate = new Gate();
    const plain = inMemoryInstance(env, {});
    const alice = await newUser(plain.transport, "race");
    const { rpc } = inMemoryInstance(env, { prisma: gatedSessions(env.prisma, gate) });
    const session = await env.prisma.session.findFirstOrThrow({
      where: { userId: alice.id },
      select: { id: true },
    });
    if (redis) {
      // Not cached yet by anyone (the plain instance's cache holds it: drop it).
      const keys = await env.redis?.keys(`${env.redisPrefix}session:*`);
      if (keys?.length) await env.redis?.del(...keys);
    }
    const held = gate.arm();
    const lookup = rpc.tokens.verify(alice.token);
    await held.reached;
    // Revoked after the lookup read the row and before it caches it.
    await rpc.tokens.revoke(session.id);
    held.release();
    expect(await lookup).toBeUndefined();
    // And stays revoked: the cache never got the stale entry.
    expect(await rpc.tokens.verify(alice.token)).toBeUndefined();
    expect(await plain.rpc.tokens.verify(alice.token)).toBeUndefined();
  });
});

describe("an open feed of a revoked session whose notice is lost", () => {
  const { env } = setupTestEnv({ redis: true, instances: 0 });

  it("ends with Unauthenticated anyway, found by the session check", async () => {
    // Instance `a` loses what it publishes on user channels (revocation
    // notices among them): the bus of a partitioned instance.
    const bus = new RedisBroker(
      env.redis as Redis,
      `${env.redisPrefix}bus:`,
      createLogger("silent"),
    );
    const lossy: Broker = {
      publish: (channel, payload) =>
        channel.startsWith("user:") ? Promise.resolve() : bus.publish(channel, payload),
      subscribe: (channel, handler) => bus.subscribe(channel, handler),
      onResync: (fn) => bus.onResync(fn),
      close: () => bus.close(),
    };
    const a = inMemoryInstance(env, { broker: lossy, feed: { sessionCheckMs: 200 } });
    const b = inMemoryInstance(env, { feed: { sessionCheckMs: 200 } });
    const alice = await newUser(a.transport, "lost");
    const feed = FeedReader.open(alice.on(b.transport).feed);
    await feed.ready();
    await authed(AuthService, a.transport, alice.token).logout({});
    const { error } = await feed.error(10_000);
    expect(Code[error.code]).toBe(Code[Code.Unauthenticated]);
  });
});

/**
 * Revocation can never be undone: a token lookup that read the session
 * just before it was revoked must not put it back into the cache (memory
 * and Redis), and an open feed of a revoked session ends on every instance
 * even when the revocation notice on the bus is lost.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { FeedReader, Gate, instanceWith, newUser } from "../feed/helpers.js";
import { authed, createTestEnv, type TestEnv } from "../support/server.js";

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
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ redis });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("never caches the revoked session as valid", async () => {
    const gate = new Gate();
    const plain = instanceWith(env, {});
    const alice = await newUser(plain.transport, "race");
    const { rpc } = instanceWith(env, { prisma: gatedSessions(env.prisma, gate) });
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
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ redis: true });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("ends with Unauthenticated anyway, found by the session check", async () => {
    const a = instanceWith(env, { feed: { sessionCheckMs: 200 } });
    const b = instanceWith(env, { feed: { sessionCheckMs: 200 } });
    // Revocations made through `a` are never announced on the bus.
    a.rpc.tokens.onRevoked = () => {};
    const alice = await newUser(a.transport, "lost");
    const feed = FeedReader.open(alice.on(b.transport).feed);
    await feed.ready();
    await authed(AuthService, a.transport, alice.token).logout({});
    const { error } = await feed.error(10_000);
    expect(Code[error.code]).toBe(Code[Code.Unauthenticated]);
  });
});

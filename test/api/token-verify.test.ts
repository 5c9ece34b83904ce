/**
 * TokenService.verify against the real database: concurrent cache misses of
 * one token share one read, and a revoked token stops verifying at once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { MemorySessionCache } from "../../server/auth/session-cache.js";
import { TokenService } from "../../server/auth/tokens.js";
import { systemClock } from "../../server/clock.js";
import { createTestEnv, inMemoryTransport, signUp, type TestEnv } from "../support/server.js";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env.close();
});

it("verifies 50 concurrent uses of an uncached token with one session read", async () => {
  const { token, user } = await signUp(inMemoryTransport(env));
  let reads = 0;
  const counted = env.prisma.$extends({
    query: {
      session: {
        async findUnique({ args, query }) {
          reads += 1;
          return query(args);
        },
      },
    },
  }) as unknown as typeof env.prisma;
  const tokens = new TokenService(counted, new MemorySessionCache(), systemClock, 3600);
  const callers = await Promise.all(Array.from({ length: 50 }, () => tokens.verify(token)));
  expect(reads).toBe(1);
  expect(new Set(callers.map((c) => c?.userId))).toEqual(new Set([user.id]));
  // Cached now: no further reads.
  await tokens.verify(token);
  expect(reads).toBe(1);
  const session = callers[0]?.sessionId ?? 0n;
  await tokens.revoke(session);
  // Revocation leaves a tombstone in the cache: refused without a read.
  expect(await tokens.verify(token)).toBeUndefined();
  expect(reads).toBe(1);
});

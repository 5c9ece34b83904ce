/**
 * TokenService.verify against the real database: concurrent cache misses of
 * one token share one read, and a revoked token stops verifying at once.
 */
import { expect, it } from "vitest";
import { MemorySessionCache } from "../../server/domain/auth/session-cache.js";
import { TokenService } from "../../server/domain/auth/tokens.js";
import { systemClock } from "../../server/platform/clock.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

it("verifies 50 concurrent uses of an uncached token with one session read", async () => {
  const { token, user } = await newUser(transport);
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

/**
 * Redis fails under the rate limits (a private redis-server, killed): calls
 * neither fail nor wait on it; each instance counts on its own until Redis
 * is back, so the limits still hold, per instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, inMemoryInstance, type TestEnv } from "../support/env.js";
import { type PrivateService, startPrivateRedis } from "../support/private-services.js";
import { roomOfTwo } from "../support/users.js";
import { expectLimited, lowLimits } from "./kit.js";

let redis: PrivateService;
let env: TestEnv;

beforeAll(async () => {
  redis = await startPrivateRedis();
  env = await createTestEnv({ redisUrl: redis.url });
  env.deps.rateLimits = lowLimits();
}, 60_000);

afterAll(async () => {
  await env?.close();
  await redis?.destroy();
});

let n = 0;
const msg = (roomId: bigint) => ({ roomId, text: `m${++n}`, clientMsgId: `c${n}` });

describe("Redis killed", () => {
  it("falls back to local counters: calls go on, and the limit holds per instance", async () => {
    const a = inMemoryInstance(env);
    const b = inMemoryInstance(env);
    const { alice, room } = await roomOfTwo(a.transport, "rd");
    const onB = alice.on(b.transport);
    await alice.msgs.sendMessage(msg(room));
    await onB.msgs.sendMessage(msg(room)); // 2 of 3, shared

    await redis.kill();
    // Each instance now counts alone, from zero: a has 3 sends left, so does b.
    const took: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await alice.msgs.sendMessage(msg(room));
      took.push(performance.now() - t);
    }
    await expectLimited(alice.msgs.sendMessage(msg(room)));
    for (let i = 0; i < 3; i++) await onB.msgs.sendMessage(msg(room));
    await expectLimited(onB.msgs.sendMessage(msg(room)));
    // Nobody waited for the dead Redis (its gate answers at once).
    expect(Math.max(...took)).toBeLessThan(1_500);
  }, 60_000);
});

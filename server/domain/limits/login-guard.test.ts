/** Unit tests of the login guard on in-process counters: the lockout grows, and success forgets. */
import { ConnectError } from "@connectrpc/connect";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { LoginGuard } from "./login-guard.js";
import { RateLimits } from "./rate-limits.js";

const logger = pino({ level: "silent" });

function guard() {
  const limits = new RateLimits(
    {
      enabled: true,
      loginLockoutSeconds: 60,
      loginLockoutMaxSeconds: 200,
      rates: {
        ...new RateLimits({}, { gate: undefined, prefix: "", logger }).config.rates,
        loginFailuresPerAccountAddress: { points: 2, seconds: 900 },
      },
    },
    { gate: undefined, prefix: "", logger },
  );
  return { limits, guard: new LoginGuard(limits) };
}

async function lockout(g: LoginGuard): Promise<number> {
  try {
    await g.before("alice", "1.2.3.4");
  } catch (err) {
    const d = ConnectError.from(err).findDetails(RetryInfoSchema)[0]?.retryDelay;
    return Number(d?.seconds ?? 0n) + (d?.nanos ?? 0) / 1e9;
  }
  return 0;
}

describe("LoginGuard", () => {
  it("doubles each lockout of a pair up to the maximum; other pairs stay open", async () => {
    const { limits, guard: g } = guard();
    const seen: number[] = [];
    for (let round = 0; round < 4; round++) {
      expect(await lockout(g)).toBe(0);
      await g.failed("alice", "1.2.3.4");
      await g.failed("alice", "1.2.3.4");
      seen.push(Math.round(await lockout(g)));
      // The lockout ends (as its window would): the next round starts.
      await limits.limiter("loginFailuresPerAccountAddress").reset("alice|1.2.3.4");
    }
    expect(seen).toEqual([60, 120, 200, 200]);
    await expect(g.before("alice", "5.6.7.8")).resolves.toBeUndefined();
  });

  it("forgets a pair's failures and strikes on success", async () => {
    const { guard: g } = guard();
    await g.failed("alice", "1.2.3.4");
    await g.succeeded("alice", "1.2.3.4");
    await g.failed("alice", "1.2.3.4");
    expect(await lockout(g)).toBe(0);
    await g.failed("alice", "1.2.3.4");
    expect(Math.round(await lockout(g))).toBe(60);
  });

  it("does nothing while limits are off", async () => {
    const limits = new RateLimits({ enabled: false }, { gate: undefined, prefix: "", logger });
    const g = new LoginGuard(limits);
    for (let i = 0; i < 20; i++) await g.failed("alice", "1.2.3.4");
    await expect(g.before("alice", "1.2.3.4")).resolves.toBeUndefined();
  });
});

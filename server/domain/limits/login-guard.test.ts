/** Unit tests of the login guard on in-process counters: the lockout grows, and success forgets. */
import { ConnectError } from "@connectrpc/connect";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { type LoginAttempt, LoginGuard } from "./login-guard.js";
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

/** A failed attempt from alice's pair. */
async function fail(g: LoginGuard, address = "1.2.3.4"): Promise<void> {
  await (await g.begin("alice", address)).failed();
}

/** The lockout the next attempt meets, in seconds (0: admitted, and given back as a success). */
async function lockout(g: LoginGuard): Promise<number> {
  try {
    await (await g.begin("alice", "1.2.3.4")).succeeded();
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
      await fail(g);
      await fail(g);
      seen.push(Math.round(await lockout(g)));
      // The lockout ends (as its window would): the next round starts.
      await limits.limiter("loginFailuresPerAccountAddress").reset("alice|1.2.3.4");
    }
    expect(seen).toEqual([60, 120, 200, 200]);
    await expect(g.begin("alice", "5.6.7.8")).resolves.toBeDefined();
  });

  it("admits no more attempts than the limit however many are in flight", async () => {
    const { guard: g } = guard();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => g.begin("alice", "1.2.3.4")),
    );
    const admitted = results.filter((r) => r.status === "fulfilled");
    expect(admitted).toHaveLength(2);
    for (const r of admitted) await (r as PromiseFulfilledResult<LoginAttempt>).value.failed();
    expect(Math.round(await lockout(g))).toBe(60);
  });

  it("gives the points of a refused attempt back to the counters it had passed", async () => {
    const { limits, guard: g } = guard();
    // The address has used up its failures (whatever the account):
    await limits.limiter("loginFailuresPerAddress").block("1.2.3.4", 600);
    await expect(g.begin("alice", "1.2.3.4")).rejects.toThrow(/try again/);
    expect(
      (await limits.limiter("loginFailuresPerAccountAddress").peek("alice|1.2.3.4")).consumed,
    ).toBe(0);
  });

  it("forgets a pair's failures and strikes on success", async () => {
    const { guard: g } = guard();
    await fail(g);
    await (await g.begin("alice", "1.2.3.4")).succeeded();
    await fail(g);
    await fail(g);
    expect(Math.round(await lockout(g))).toBe(60);
  });

  it("does nothing while limits are off", async () => {
    const limits = new RateLimits({ enabled: false }, { gate: undefined, prefix: "", logger });
    const g = new LoginGuard(limits);
    for (let i = 0; i < 20; i++) await fail(g);
    await expect(g.begin("alice", "1.2.3.4")).resolves.toBeDefined();
  });
});

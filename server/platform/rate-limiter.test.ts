/** Unit tests of the shared rate limiter without Redis, and its fallback when Redis fails. */
import type { Redis } from "ioredis";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { SharedRateLimiter } from "./rate-limiter.js";
import { RedisGate } from "./redis.js";

const logger = pino({ level: "silent" });

describe("SharedRateLimiter", () => {
  it("allows the points of a window, then refuses with the time left", async () => {
    const l = new SharedRateLimiter(
      "t",
      { points: 2, seconds: 60 },
      { gate: undefined, prefix: "", logger },
    );
    expect((await l.consume("k")).allowed).toBe(true);
    expect((await l.consume("k")).allowed).toBe(true);
    const d = await l.consume("k");
    expect(d.allowed).toBe(false);
    if (!d.allowed) {
      expect(d.retryAfterMs).toBeGreaterThan(50_000);
      expect(d.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect((await l.consume("other")).allowed).toBe(true);
    expect((await l.peek("k")).allowed).toBe(false);
    await l.reset("k");
    expect((await l.peek("k")).allowed).toBe(true);
    await l.block("k", 30);
    const b = await l.peek("k");
    expect(b.allowed).toBe(false);
  });

  it("counts locally while the Redis gate is tripped, never calling Redis", async () => {
    const calls: string[] = [];
    // A client that is never ready: the gate refuses at once and the limiter counts locally.
    const fake = {
      status: "end",
      on: () => fake,
      defineCommand: () => {},
      rlflxIncr: () => {
        calls.push("incr");
        return Promise.reject(new Error("must not be called"));
      },
    } as unknown as Redis;
    const gate = new RedisGate(fake, logger, { commandTimeoutMs: 50, probeEveryMs: 10_000 });
    const l = new SharedRateLimiter(
      "t",
      { points: 1, seconds: 60 },
      { gate, prefix: "p:", logger },
    );
    expect((await l.consume("k")).allowed).toBe(true);
    expect((await l.consume("k")).allowed).toBe(false);
    expect(calls).toEqual([]);
    gate.close();
  });
});

describe("SharedRateLimiter windows longer than setTimeout can wait", () => {
  it("keeps a 30-day key in process instead of dropping it at once", async () => {
    const l = new SharedRateLimiter(
      "long",
      { points: 1_000_000, seconds: 30 * 86_400 },
      { gate: undefined, prefix: "", logger },
    );
    await l.consume("k");
    await new Promise((r) => setTimeout(r, 20));
    expect((await l.peek("k")).consumed).toBe(1);
  });
});

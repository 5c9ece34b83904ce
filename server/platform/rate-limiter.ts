/**
 * Fixed-window rate limits shared by every instance through Redis
 * (rate-limiter-flexible: one atomic Lua call per check), kept in process
 * without Redis. A Redis outage must never become an outage of the
 * service: calls go through the Redis gate (its timeout, and no call at all
 * while Redis is known down) and fall back to a limiter in this process,
 * which then limits per instance instead of per cluster. Knows nothing of
 * chat: domain/limits/ names the limits.
 */
import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { limiterFor } from "./log-limiter.js";
import type { RedisGate } from "./redis.js";

/** `points` per `seconds` (a fixed window that starts at the first point). */
export interface Rate {
  points: number;
  seconds: number;
}

/** Where limiters keep their counters. */
export interface LimiterStore {
  /** Absent: counters live in this process only. */
  gate: RedisGate | undefined;
  /** Prefix of every Redis key. */
  prefix: string;
  logger: Logger;
}

/** The state of one key after a check. */
export type RateDecision =
  | { allowed: true; consumed: number }
  | { allowed: false; consumed: number; retryAfterMs: number };

type Backend = RateLimiterMemory | RateLimiterRedis;

/** Longest window of the in-process limiter (setTimeout's limit is ~24.8 days). */
const maxLocalSeconds = 24 * 86_400;

/**
 * One named limit. Every method is one round trip to Redis (or none while
 * Redis is down); errors other than "over the limit" fall back to the
 * local counters and are logged, at most a few lines per second.
 */
export class SharedRateLimiter {
  private readonly local: RateLimiterMemory;
  private readonly remote: RateLimiterRedis | undefined;
  private readonly allowLog: (key: string) => boolean;

  constructor(
    readonly name: string,
    readonly rate: Rate,
    private readonly store: LimiterStore,
  ) {
    const opts = { points: rate.points, duration: rate.seconds, keyPrefix: `rl:${name}` };
    // The in-process limiter expires keys with setTimeout, which cannot wait
    // longer than 2^31-1 ms (~24.8 days): longer windows are cut to 24 days
    // there (Redis keeps them whole).
    this.local = new RateLimiterMemory({
      ...opts,
      duration: Math.min(rate.seconds, maxLocalSeconds),
    });
    this.remote = store.gate
      ? new RateLimiterRedis({
          ...opts,
          keyPrefix: `${store.prefix}rl:${name}`,
          storeClient: store.gate.redis,
          rejectIfRedisNotReady: true,
        })
      : undefined;
    const limiter = limiterFor(store.logger);
    this.allowLog = (key) => limiter.allow(key);
  }

  /** Takes `points` for `key`; refused (nothing taken beyond the limit) once the window is full. */
  async consume(key: string, points = 1): Promise<RateDecision> {
    try {
      const res = await this.run((b) => b.consume(key, points));
      return { allowed: true, consumed: res.consumedPoints };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return {
          allowed: false,
          consumed: err.consumedPoints,
          retryAfterMs: Math.max(1, err.msBeforeNext),
        };
      }
      throw err;
    }
  }

  /**
   * Whether `key` has used up its window, without taking a point. Refused
   * when `points` or more were taken (or the key is blocked).
   */
  async peek(key: string): Promise<RateDecision> {
    const res = await this.run((b) => b.get(key));
    if (!res) return { allowed: true, consumed: 0 };
    if (res.consumedPoints >= this.rate.points && res.msBeforeNext > 0) {
      return { allowed: false, consumed: res.consumedPoints, retryAfterMs: res.msBeforeNext };
    }
    return { allowed: true, consumed: res.consumedPoints };
  }

  /** Gives `points` back to `key` (taken for an attempt that turned out not to count). */
  async refund(key: string, points = 1): Promise<void> {
    await this.run((b) => b.reward(key, points));
  }

  /** Refuses `key` for `seconds` from now (a lockout). */
  async block(key: string, seconds: number): Promise<void> {
    await this.run((b) =>
      b.block(key, b instanceof RateLimiterMemory ? Math.min(seconds, maxLocalSeconds) : seconds),
    );
  }

  /** Forgets `key` (its window starts afresh). */
  async reset(key: string): Promise<void> {
    await this.run((b) => b.delete(key));
  }

  private async run<T>(op: (b: Backend) => Promise<T>): Promise<T> {
    const gate = this.store.gate;
    if (this.remote && gate?.available) {
      const remote = this.remote;
      try {
        return await gate.run(() => op(remote));
      } catch (err) {
        if (err instanceof RateLimiterRes) throw err;
        if (this.allowLog(`rate-limiter-fallback:${this.name}`)) {
          this.store.logger.warn(
            { err: err instanceof Error ? err.message : String(err), limit: this.name },
            "rate limit checked locally: redis failed",
          );
        }
      }
    }
    return op(this.local);
  }
}

/**
 * The rate limits of chat, by name (docs/limits.md): one place that knows
 * each limit's rate, key and message, used by the services and open to
 * other services (an admin API may call {@link RateLimits.check} or decide
 * not to). Counters are shared by every instance through Redis and kept
 * locally when Redis is absent or down (platform/rate-limiter.ts).
 */

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { RateLimitConfig, RateLimitName } from "../../config.js";
import { defaults } from "../../config.js";
import { chatError, rateLimited } from "../../platform/errors.js";
import {
  type LimiterStore,
  type RateDecision,
  SharedRateLimiter,
} from "../../platform/rate-limiter.js";

export type { RateLimitConfig, RateLimitName } from "../../config.js";
export type { LimiterStore, RateDecision } from "../../platform/rate-limiter.js";

/** Rate limit settings; defaults from config.ts. */
export const defaultRateLimitConfig: RateLimitConfig = defaults.rateLimits;

/** What the client is told it did too often, per limit. */
const what: Record<RateLimitName, string> = {
  sendBurst: "too many messages in a short time",
  sendSustained: "too many messages",
  reactions: "too many reaction changes",
  typing: "too many typing updates",
  roomCreates: "too many rooms created",
  invitations: "too many invitations",
  subscribes: "too many subscriptions",
  userSearches: "too many user searches",
  reports: "too many reports",
  registrations: "too many registrations from this address",
  loginFailuresPerAccountAddress: "too many failed logins to this account from this address",
  loginFailuresPerAddress: "too many failed logins from this address",
  loginFailuresPerAccount: "too many failed logins to this account",
};

/** "try again in 3 s" (rounded up; RetryInfo carries the exact delay). */
export function retryText(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/** The RESOURCE_EXHAUSTED a refused check answers with (ErrorInfo RATE_LIMITED, RetryInfo). */
export function limitError(name: RateLimitName, retryAfterMs: number) {
  return rateLimited(`${what[name]}: try again in ${retryText(retryAfterMs)}`, retryAfterMs);
}

/**
 * A fixed allowance used up (RESOURCE_EXHAUSTED, reason QUOTA_EXCEEDED, no
 * RetryInfo: waiting does not help, undoing something does).
 */
export function quotaExceeded(message: string) {
  return chatError(Code.ResourceExhausted, message, ErrorReason.QUOTA_EXCEEDED);
}

/** Every named limit, over one store. */
export class RateLimits {
  readonly config: RateLimitConfig;
  private readonly limiters = new Map<RateLimitName, SharedRateLimiter>();
  private readonly extras = new Map<string, SharedRateLimiter>();

  constructor(
    config: Partial<RateLimitConfig>,
    readonly store: LimiterStore,
  ) {
    this.config = {
      ...defaultRateLimitConfig,
      ...config,
      rates: { ...defaultRateLimitConfig.rates, ...config.rates },
    };
  }

  /** False when limits are turned off (RATE_LIMITS_ENABLED=false). */
  get enabled(): boolean {
    return this.config.enabled;
  }

  /** The limiter of one limit (login-guard.ts uses them directly). */
  limiter(name: RateLimitName): SharedRateLimiter {
    let l = this.limiters.get(name);
    if (!l) {
      l = new SharedRateLimiter(name, this.config.rates[name], this.store);
      this.limiters.set(name, l);
    }
    return l;
  }

  /** A limiter of the same store that is not a configured limit (the login guard's bookkeeping). */
  extra(name: string, rate: { points: number; seconds: number }): SharedRateLimiter {
    let l = this.extras.get(name);
    if (!l) {
      l = new SharedRateLimiter(name, rate, this.store);
      this.extras.set(name, l);
    }
    return l;
  }

  /**
   * Takes `points` of limit `name` for `key` (a user id or an address);
   * throws RESOURCE_EXHAUSTED with RetryInfo when they are used up. Does
   * nothing while limits are off.
   */
  async check(name: RateLimitName, key: string | bigint, points = 1): Promise<void> {
    const d = await this.take(name, key, points);
    if (!d.allowed) throw limitError(name, d.retryAfterMs);
  }

  /** Like {@link check}, for several limits at once (one round trip each, in parallel). */
  async checkAll(names: readonly RateLimitName[], key: string | bigint): Promise<void> {
    const ds = await Promise.all(names.map((n) => this.take(n, key, 1)));
    let worst: { name: RateLimitName; ms: number } | undefined;
    ds.forEach((d, i) => {
      if (!d.allowed && (!worst || d.retryAfterMs > worst.ms)) {
        worst = { name: names[i] as RateLimitName, ms: d.retryAfterMs };
      }
    });
    if (worst) throw limitError(worst.name, worst.ms);
  }

  /** Takes points without throwing; always allowed while limits are off. */
  async take(name: RateLimitName, key: string | bigint, points = 1): Promise<RateDecision> {
    if (!this.config.enabled) return { allowed: true, consumed: 0 };
    return this.limiter(name).consume(String(key), points);
  }
}

/**
 * Redis connections (ioredis) and the gate every request-path Redis call
 * goes through. Redis holds caches, presence and the bus; MySQL holds the
 * truth. So a Redis outage must degrade the service, never stall it: no
 * call waits on Redis longer than a short bound, and while Redis is known
 * to be down nobody waits at all (callers fall back to MySQL or local
 * state).
 */
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { defaults, tuning } from "../config.js";
import { Listeners } from "./listeners.js";

/** Bounds of Redis calls. */
export interface RedisTimeouts {
  /** A request-path command that takes longer counts as a failure. */
  commandTimeoutMs: number;
  /** While Redis is down, how often it is probed with PING. */
  probeEveryMs: number;
}

/** From config.ts: REDIS_COMMAND_TIMEOUT_MS and the probe interval. */
export const defaultRedisTimeouts: RedisTimeouts = {
  commandTimeoutMs: defaults.redisCommandTimeoutMs,
  probeEveryMs: tuning.redis.probeEveryMs,
};

/**
 * Opens a Redis connection that reconnects forever with capped backoff and
 * fails commands at once while disconnected (no offline queue: a caller
 * would otherwise wait out the reconnect attempts, ~3 s each). Errors are
 * logged once per outage.
 */
export function createRedis(url: string, logger: Logger, timeouts = defaultRedisTimeouts): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // A paused Redis keeps the socket open and answers nothing: give up on
    // a command after a while (bus and background work; the request path
    // uses the gate's shorter bound).
    commandTimeout: Math.max(1_000, timeouts.commandTimeoutMs * 4),
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    lazyConnect: false,
    enableAutoPipelining: true,
  });
  let reported = false;
  redis.on("error", (err) => {
    if (!reported) logger.warn({ err: err.message }, "redis connection error");
    reported = true;
  });
  redis.on("ready", () => {
    if (reported) logger.info("redis connection restored");
    reported = false;
  });
  return redis;
}

/** Thrown by {@link RedisGate.run} when Redis is down or too slow. */
export class RedisUnavailableError extends Error {
  constructor(why: string) {
    super(`redis unavailable: ${why}`);
    this.name = "RedisUnavailableError";
  }
}

/**
 * Tracks whether Redis answers, as seen from this process. A command that
 * fails or times out trips the gate; while tripped, {@link run} refuses at
 * once and a PING every `probeEveryMs` closes the gate again when Redis
 * answers. Listeners hear about both transitions (the bus re-syncs when
 * Redis is back).
 */
export class RedisGate {
  private tripped = false;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners: Listeners<boolean>;

  constructor(
    readonly redis: Redis,
    private readonly logger: Logger,
    private readonly timeouts: RedisTimeouts = defaultRedisTimeouts,
  ) {
    this.listeners = new Listeners(logger, "redis gate");
    redis.on("close", () => this.trip("connection closed"));
    redis.on("ready", () => {
      // A fresh connection answers: no need to wait for the next probe.
      if (this.tripped) this.untrip();
    });
  }

  /** True while Redis is believed to answer. */
  get available(): boolean {
    return !this.tripped && this.redis.status === "ready";
  }

  /** Calls `fn` on every change of {@link available}; returns the unsubscribe function. */
  onChange(fn: (up: boolean) => void): () => void {
    return this.listeners.add(fn);
  }

  /**
   * Runs one Redis call with the request-path bound. Throws
   * RedisUnavailableError at once while the gate is tripped, and trips it
   * when the call fails or takes too long.
   */
  async run<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.available) throw new RedisUnavailableError(this.redis.status);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(this.redis),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new RedisUnavailableError("timed out")),
            this.timeouts.commandTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      // Only connection-level failures trip it; a Lua or type error is ours.
      if (isRedisConnectionError(err)) this.trip(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Marks Redis down and starts probing. */
  trip(why: string): void {
    if (this.closed || this.tripped) return;
    this.tripped = true;
    this.logger.warn({ why }, "redis marked unavailable: falling back to MySQL and local state");
    this.listeners.emit(false);
    this.schedule();
  }

  private untrip(): void {
    if (!this.tripped) return;
    this.tripped = false;
    clearTimeout(this.probe);
    this.probe = undefined;
    this.logger.info("redis available again");
    this.listeners.emit(true);
  }

  private schedule(): void {
    clearTimeout(this.probe);
    this.probe = setTimeout(() => void this.ping(), this.timeouts.probeEveryMs);
    this.probe.unref();
  }

  private async ping(): Promise<void> {
    if (this.closed || !this.tripped) return;
    let ok = false;
    if (this.redis.status === "ready") {
      let timer: NodeJS.Timeout | undefined;
      ok = await Promise.race([
        this.redis.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.timeouts.commandTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (ok) this.untrip();
    else this.schedule();
  }

  /** Stops probing (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.probe);
  }
}

/**
 * True for errors that mean "Redis cannot be reached now" rather than a
 * bad command: refused or closed connections, the offline queue being
 * off, retries exhausted, timeouts.
 */
export function isRedisConnectionError(err: unknown): boolean {
  if (err instanceof RedisUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError") return true;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === "string" &&
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH)$/.test(code)
  )
    return true;
  return /Connection is closed|Stream isn't writeable|Command timed out|connect ETIMEDOUT|Reached the max retries/i.test(
    err.message,
  );
}

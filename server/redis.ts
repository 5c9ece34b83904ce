/** Redis connections (ioredis). */
import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Opens a Redis connection that retries forever with capped backoff, so a
 * Redis restart degrades the service (health turns NOT_SERVING) instead of
 * crashing it. Errors are logged at most once per reconnect cycle.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
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

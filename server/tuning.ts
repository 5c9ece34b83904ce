/**
 * Tunables that are code, not deployment choices (config.ts re-exports
 * them): changing one is a measured decision, made here, in one place.
 */

/** Code tunables, by area. */
export const tuning = {
  /** Presence (realtime/presence). */
  presence: {
    /** Offline is announced this long after the last feed closed (a reconnect never flaps). */
    graceMs: 10_000,
    /** A feed entry lives this long unless its instance refreshes it (crashed instances). */
    entryTtlMs: 60_000,
    /** Room stats are sent at most this often per room. */
    statsEveryMs: 1_000,
  },
  /** Read receipts on the feed (realtime/hub/receipt-coalescer.ts). issue 17 */
  receipts: {
    /** At most one receipt per member and room this often, from each instance. */
    everyMs: 1_000,
  },
  /** Typing indicators (realtime/presence/typing.ts). */
  typing: {
    /** "Stopped" is sent this long after the last SetTyping(true). */
    expireMs: 6_000,
    /** "Typing" is re-sent at most this often while the user keeps typing. */
    refreshMs: 3_000,
  },
  /** Group commit of sends (domain/send). */
  sendBatch: {
    /** Transactions in flight (at most the send pool's connections). */
    lanes: 4,
    /** Calls per transaction. */
    maxItems: 256,
    /** Rough bytes of text and payload per transaction (under max_allowed_packet). */
    maxBytes: 4 * 1024 * 1024,
    /** Tries of a transaction that hit a deadlock or lock wait timeout. */
    maxTries: 3,
    /** Calls waiting for a lane beyond which new ones are refused (Unavailable). */
    maxWaiting: 20_000,
    /** A send waits this long at most for a room whose lock another transaction holds. */
    maxDeferMs: 5_000,
  },
  /** Uploads (domain/files). */
  files: {
    /** How often expired uploads and files of deleted messages are removed. */
    sweepMs: 60_000,
    /** Uploads removed per query of a sweep. */
    sweepBatch: 100,
  },
  /** The database gate (store/db-gate.ts). */
  dbGate: {
    /** Ping of the watcher connection while the database is up. */
    pingEveryMs: 2_000,
    /** Reconnect attempts while it is down. */
    probeEveryMs: 500,
    /** A connect or ping slower than this counts as a failure. */
    timeoutMs: 2_000,
  },
  /** Redis (platform/redis.ts); the command timeout is REDIS_COMMAND_TIMEOUT_MS. */
  redis: {
    /** While Redis is down, how often it is probed with PING. */
    probeEveryMs: 500,
  },
  /** Access tokens (domain/auth). */
  tokens: {
    /** Longest time a verified token is served from the cache. */
    cacheTtlMs: 30_000,
  },
  /** Failed-call log lines (platform/log-limiter.ts). */
  logLimiter: {
    /** Lines of one kind written back to back before limiting starts. */
    burst: 50,
    /** Lines of one kind per second once the burst is spent. */
    perSecond: 20,
    /** Kinds tracked at once. */
    maxKinds: 1_000,
  },
  /** How often health checks run (rpc/grpc/health.ts). */
  healthIntervalMs: 5_000,
} as const;

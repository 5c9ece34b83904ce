/**
 * Server configuration, read from environment variables and validated at
 * start. Every problem is reported at once, each with what is wrong and what
 * to set, so a misconfigured deployment fails fast with a useful message.
 */

import { parseAvatarHosts } from "./services/avatar-url.js";

/** Validated configuration of one server process. */
export interface Config {
  /** TCP port serving every protocol (HTTP/1.1 and h2c). */
  port: number;
  /** Interface to bind. */
  host: string;
  /** MySQL/MariaDB connection URL, `mysql://user:pass@host:port/database`. */
  databaseUrl: string;
  /** Redis URL; undefined runs one instance on the in-process broker. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key and channel, so deployments can share a Redis. */
  redisPrefix: string;
  /** pino log level. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Lifetime of an access token, in seconds. */
  tokenTtlSeconds: number;
  /** Create the database and apply pending migrations on start. */
  autoMigrate: boolean;
  /** Upper bound for a graceful shutdown, in milliseconds. */
  shutdownTimeoutMs: number;
  /** Directory with the built web client; served at `/` when it exists. */
  webDir: string;
  /** Live feeds: heartbeat interval, queue bound, replay bound, streams per user, healing checks. */
  feed: {
    heartbeatMs: number;
    queueLimit: number;
    maxReplay: number;
    maxStreamsPerUser: number;
    recentEvents: number;
    lingerMs: number;
    headCheckMs: number;
    sessionCheckMs: number;
  };
  /** A request-path Redis call slower than this counts as Redis being down. */
  redisCommandTimeoutMs: number;
  /**
   * Limits against hostile or broken clients (README "Operations: hostile
   * clients"); timeouts are set in seconds and held here in milliseconds.
   */
  limits: {
    /** MAX_CONNECTIONS (10000): open TCP connections per process. */
    maxConnections: number;
    /** HTTP2_MAX_CONCURRENT_STREAMS (250): streams per HTTP/2 session. */
    maxConcurrentStreams: number;
    /** HEADERS_TIMEOUT_SECONDS (10): first bytes, HTTP/1.1 headers, first HTTP/2 stream. */
    headersTimeoutMs: number;
    /** BODY_TIMEOUT_SECONDS (10): longest pause within a request body. */
    bodyIdleTimeoutMs: number;
    /** REQUEST_TIMEOUT_SECONDS (60): a whole request (headers and body) must arrive within it. */
    requestTimeoutMs: number;
    /** KEEP_ALIVE_TIMEOUT_SECONDS (65): idle HTTP/1.1 connection between requests. */
    keepAliveTimeoutMs: number;
    /** HTTP2_IDLE_TIMEOUT_SECONDS (300): HTTP/2 session without an open stream. */
    sessionIdleTimeoutMs: number;
    /** MAX_UNAUTHENTICATED_STREAMS (100): open Health.Watch/reflection streams per process. */
    maxUnauthenticatedStreams: number;
  };
  /** AVATAR_HOSTS (none): hosts avatar URLs may point at, exact or `*.domain`. */
  avatarHosts: string[];
}

/** Thrown by {@link loadConfig}; `problems` lists every invalid variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Reads and validates the configuration from `env` (usually `process.env`). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const str = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = str(name, String(fallback));
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}="${raw}" must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = str(name, String(fallback)).toLowerCase();
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    problems.push(`${name}="${raw}" must be true or false`);
    return fallback;
  };

  const databaseUrl = str("DATABASE_URL", "mysql://root@127.0.0.1:3306/chat");
  const db = parseUrl(databaseUrl);
  if (!db || !["mysql:", "mariadb:"].includes(db.protocol) || db.pathname.length < 2) {
    problems.push(
      `DATABASE_URL="${redact(databaseUrl)}" must look like mysql://user:password@host:3306/database`,
    );
  }
  const redisRaw = env.REDIS_URL?.trim() || undefined;
  if (redisRaw !== undefined) {
    const r = parseUrl(redisRaw);
    if (!r || !["redis:", "rediss:"].includes(r.protocol)) {
      problems.push(
        `REDIS_URL="${redact(redisRaw)}" must look like redis://host:6379 (or unset it)`,
      );
    }
  }
  const avatarHosts = parseAvatarHosts(str("AVATAR_HOSTS", ""));
  if (avatarHosts.invalid.length > 0) {
    problems.push(
      `AVATAR_HOSTS has entries that are not host names: ${avatarHosts.invalid.join(", ")} (use e.g. "images.example.com,*.cdn.example.com")`,
    );
  }
  const seconds = (name: string, fallback: number, max: number) =>
    int(name, fallback, 1, max) * 1000;
  const logLevel = str("LOG_LEVEL", "info") as Config["logLevel"];
  if (!logLevels.includes(logLevel)) {
    problems.push(`LOG_LEVEL="${logLevel}" must be one of ${logLevels.join(", ")}`);
  }
  const config: Config = {
    port: int("PORT", 8080, 0, 65535),
    host: str("HOST", "0.0.0.0"),
    databaseUrl,
    redisUrl: redisRaw,
    redisPrefix: str("REDIS_PREFIX", "chat:"),
    logLevel,
    tokenTtlSeconds: int("TOKEN_TTL_SECONDS", 30 * 24 * 3600, 60, 365 * 24 * 3600),
    autoMigrate: bool("AUTO_MIGRATE", true),
    shutdownTimeoutMs: int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    webDir: str("WEB_DIR", "web/dist"),
    feed: {
      heartbeatMs: int("FEED_HEARTBEAT_MS", 15_000, 1_000, 300_000),
      queueLimit: int("FEED_QUEUE_LIMIT", 1_000, 10, 1_000_000),
      maxReplay: int("FEED_MAX_REPLAY", 1_000, 1, 100_000),
      maxStreamsPerUser: int("FEED_MAX_STREAMS_PER_USER", 10, 1, 1_000),
      recentEvents: int("FEED_RECENT_EVENTS", 256, 0, 100_000),
      lingerMs: int("FEED_LINGER_MS", 30_000, 0, 3_600_000),
      headCheckMs: int("FEED_HEAD_CHECK_MS", 5_000, 0, 600_000),
      sessionCheckMs: int("FEED_SESSION_CHECK_MS", 10_000, 0, 600_000),
    },
    redisCommandTimeoutMs: int("REDIS_COMMAND_TIMEOUT_MS", 250, 10, 60_000),
    limits: {
      maxConnections: int("MAX_CONNECTIONS", 10_000, 1, 1_000_000),
      maxConcurrentStreams: int("HTTP2_MAX_CONCURRENT_STREAMS", 250, 1, 100_000),
      headersTimeoutMs: seconds("HEADERS_TIMEOUT_SECONDS", 10, 600),
      bodyIdleTimeoutMs: seconds("BODY_TIMEOUT_SECONDS", 10, 3_600),
      requestTimeoutMs: seconds("REQUEST_TIMEOUT_SECONDS", 60, 3_600),
      keepAliveTimeoutMs: seconds("KEEP_ALIVE_TIMEOUT_SECONDS", 65, 3_600),
      sessionIdleTimeoutMs: seconds("HTTP2_IDLE_TIMEOUT_SECONDS", 300, 86_400),
      maxUnauthenticatedStreams: int("MAX_UNAUTHENTICATED_STREAMS", 100, 0, 1_000_000),
    },
    avatarHosts: avatarHosts.hosts,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** Hides the password of a URL, for logs and error messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

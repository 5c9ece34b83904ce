/** The shape of the server's configuration (config.ts builds it). */

/** pino's levels. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

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
  logLevel: (typeof logLevels)[number];
  /** Lifetime of an access token, in seconds. */
  tokenTtlSeconds: number;
  /** Create the database and apply pending migrations on start. */
  autoMigrate: boolean;
  /** Upper bound for a graceful shutdown, in milliseconds. */
  shutdownTimeoutMs: number;
  /** Directory with the built web client; served at `/` when it exists. */
  webDir: string;
  /** Live feeds. */
  feed: FeedConfig;
  /** A request-path Redis call slower than this counts as Redis being down. */
  redisCommandTimeoutMs: number;
  /** Limits against hostile or broken clients (README, Operations). */
  limits: LimitsConfig;
  /** Hosts avatar URLs may point at, exact or `*.domain`; none: no avatar URLs. */
  avatarHosts: string[];
  /** Port of the metrics listener; undefined: none. issue 14 */
  metricsPort: number | undefined;
  /** Bearer token of `/metrics` on the main port; undefined: not served there. issue 14 */
  metricsToken: string | undefined;
  /** Webhook delivery timing (domain/webhooks/dispatcher.ts). issue 14 */
  webhooks: WebhookConfig;
  /** Server processes on the port (0: one per core); more than one needs Redis. */
  workers: number;
  /** Serve authenticated unary calls of the common shape without connect-node's machinery. */
  directUnary: boolean;
}

/** Live-feed settings. */
export interface FeedConfig {
  /** Heartbeat interval of an idle feed (a client may ask for its own). */
  heartbeatMs: number;
  /** Frames queued per feed before a reader too slow to keep up is cut. */
  queueLimit: number;
  /** A room further behind than this on resume gets `reset` instead of a replay. */
  maxReplay: number;
  /** Open Subscribe/Chat streams per user across the cluster. */
  maxStreamsPerUser: number;
  /** Latest events each room hub keeps for feeds resuming a little behind (0: none). */
  recentEvents: number;
  /** How long a room hub lives on after its last feed left (0: closes at once). */
  lingerMs: number;
  /** How often room hubs compare their head with the database (0: never). */
  headCheckMs: number;
  /** How often open feeds re-check their session for revocation and expiry (0: never). */
  sessionCheckMs: number;
}

/** Transport limits; timeouts held in milliseconds. */
export interface LimitsConfig {
  /** Open TCP connections per process. */
  maxConnections: number;
  /** Streams per HTTP/2 session. */
  maxConcurrentStreams: number;
  /** First bytes, HTTP/1.1 headers, first HTTP/2 stream. */
  headersTimeoutMs: number;
  /** Longest pause within a request body. */
  bodyIdleTimeoutMs: number;
  /** A whole request (headers and body) must arrive within it. */
  requestTimeoutMs: number;
  /** Idle HTTP/1.1 connection between requests. */
  keepAliveTimeoutMs: number;
  /** HTTP/2 session without an open stream. */
  sessionIdleTimeoutMs: number;
  /** Open Health.Watch/reflection streams without a token, per process. */
  maxUnauthenticatedStreams: number;
}

/** Webhook delivery timing; see WebhookOptions in domain/webhooks/dispatcher.ts. issue 14 */
export interface WebhookConfig {
  intervalMs: number;
  timeoutMs: number;
  maxFailures: number;
  leaseMs: number;
  backoffMs: number;
}

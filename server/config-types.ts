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
  /** Server processes on the port (0: one per core); more than one needs Redis. */
  workers: number;
  /** Serve authenticated unary calls of the common shape without connect-node's machinery. */
  directUnary: boolean;
  /** Rate limits, the login lockout and the password policy (issue 13). */
  rateLimits: RateLimitConfig;
  /** Port of the metrics listener; undefined: none. issue 14 */
  metricsPort: number | undefined;
  /** Bearer token of `/metrics` on the main port; undefined: not served there. issue 14 */
  metricsToken: string | undefined;
  /** Webhook delivery timing (domain/webhooks/dispatcher.ts). issue 14 */
  webhooks: WebhookConfig;
  /** Uploads and their storage (issue 16). */
  files: FilesConfig;
  /** Who may add a user without asking, for users who never chose (issue 13). */
  defaultWhoMayAdd: AddPolicyName;
}

/** Uploads: where files are kept and how much a user may keep. */
export interface FilesConfig {
  /** Directory of the local-disk storage (used when `s3Bucket` is empty). */
  storageDir: string;
  /** S3 bucket; non-empty: files are kept in S3 (or an S3-compatible store), not on disk. */
  s3Bucket: string;
  /** S3 endpoint URL for S3-compatible stores; empty: AWS's. */
  s3Endpoint: string;
  /** S3 region. */
  s3Region: string;
  /** Path-style S3 URLs (most S3-compatible stores need them). */
  s3ForcePathStyle: boolean;
  /** Largest file, in bytes. */
  maxFileBytes: number;
  /** Total bytes of one user's files. */
  maxUserBytes: number;
  /** Largest image decoded, in pixels (width x height x frames). */
  maxImagePixels: number;
  /** An upload never attached to a message is removed after this long. */
  unattachedTtlMs: number;
}

/** Who may add a user to a conversation without asking. */
export type AddPolicyName = "ANYONE" | "SHARED_ROOM" | "NOBODY";

/** `points` per `seconds`, in a window that starts at the first point. */
export interface RateSetting {
  points: number;
  seconds: number;
}

/** The names of the per-caller rate limits (docs/limits.md). */
export const rateLimitNames = [
  "sendBurst",
  "sendSustained",
  "reactions",
  "typing",
  "roomCreates",
  "invitations",
  "subscribes",
  "userSearches",
  "reports",
  "registrations",
  "loginFailuresPerAccountAddress",
  "loginFailuresPerAddress",
  "loginFailuresPerAccount",
] as const;

/** One of {@link rateLimitNames}. */
export type RateLimitName = (typeof rateLimitNames)[number];

/** Rate limits, the login lockout and the password policy. */
export interface RateLimitConfig {
  /** False: no rate limit is checked (the password policy still is). */
  enabled: boolean;
  /** Each limit's rate. */
  rates: Record<RateLimitName, RateSetting>;
  /** First lockout of an account at one address; each further one doubles, up to the max. */
  loginLockoutSeconds: number;
  /** Longest lockout of an account at one address. */
  loginLockoutMaxSeconds: number;
  /** How long an address that logged in to an account stays known to it. */
  knownAddressDays: number;
  /** Distinct emoji one user may put on one message. */
  reactionsPerMessage: number;
  /** Shortest password accepted at registration. */
  passwordMinLength: number;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). */
  trustedProxies: string[];
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

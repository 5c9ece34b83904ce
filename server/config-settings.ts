/**
 * The environment variables of the server (config.ts reads them): each
 * with its default, bounds, where it goes in the Config, and the line the
 * README's table shows for it.
 */
import { isIP } from "node:net";
import { type Config, logLevels, type RateLimitName } from "./config-types.js";

export type {
  AddPolicyName,
  Config,
  FeedConfig,
  FilesConfig,
  LimitsConfig,
  RateLimitConfig,
  RateLimitName,
  RateSetting,
} from "./config-types.js";

/** One environment variable: where it goes, its default and bounds, and its meaning. */
export interface Setting {
  env: string;
  /** Shown in the README's default column. */
  shown: string;
  doc: string;
  read(r: Reader): void;
}

/** What a setting's `read` gets: typed accessors that collect problems. */
export interface Reader {
  str(name: string, fallback: string): string;
  int(name: string, fallback: number, min: number, max: number): number;
  bool(name: string, fallback: boolean): boolean;
  out: Config;
  problem(message: string): void;
}

/** Every environment variable the server reads, in the README's order. */
export const settings: readonly Setting[] = [
  {
    env: "PORT",
    shown: "`8080`",
    doc: "TCP port for every protocol (HTTP/1.1 and h2c)",
    read: (r) => {
      r.out.port = r.int("PORT", 8080, 0, 65535);
    },
  },
  {
    env: "HOST",
    shown: "`0.0.0.0`",
    doc: "interface to bind",
    read: (r) => {
      r.out.host = r.str("HOST", "0.0.0.0");
    },
  },
  {
    env: "DATABASE_URL",
    shown: "`mysql://root@127.0.0.1:3306/chat`",
    doc: "MySQL/MariaDB; the database is created if missing",
    read: (r) => {
      const url = r.str("DATABASE_URL", "mysql://root@127.0.0.1:3306/chat");
      const db = parseUrl(url);
      if (!db || !["mysql:", "mariadb:"].includes(db.protocol) || db.pathname.length < 2) {
        r.problem(
          `DATABASE_URL="${redact(url)}" must look like mysql://user:password@host:3306/database`,
        );
      }
      r.out.databaseUrl = url;
    },
  },
  {
    env: "REDIS_URL",
    shown: "unset",
    doc: "e.g. `redis://127.0.0.1:6379`; unset runs a single instance with in-process state",
    read: (r) => {
      const raw = r.str("REDIS_URL", "") || undefined;
      if (raw !== undefined) {
        const u = parseUrl(raw);
        if (!u || !["redis:", "rediss:"].includes(u.protocol)) {
          r.problem(`REDIS_URL="${redact(raw)}" must look like redis://host:6379 (or unset it)`);
        }
      }
      r.out.redisUrl = raw;
    },
  },
  {
    env: "WORKERS",
    shown: "`1`",
    doc: "server processes sharing the port (`0`: one per core); more than one needs `REDIS_URL` (docs/performance.md, Several processes)",
    read: (r) => {
      r.out.workers = r.int("WORKERS", 1, 0, 256);
    },
  },
  {
    env: "REDIS_PREFIX",
    shown: "`chat:`",
    doc: "prefix of every Redis key and channel",
    read: (r) => {
      r.out.redisPrefix = r.str("REDIS_PREFIX", "chat:");
    },
  },
  {
    env: "LOG_LEVEL",
    shown: "`info`",
    doc: "`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`",
    read: (r) => {
      const level = r.str("LOG_LEVEL", "info") as Config["logLevel"];
      if (!logLevels.includes(level)) {
        r.problem(`LOG_LEVEL="${level}" must be one of ${logLevels.join(", ")}`);
      }
      r.out.logLevel = level;
    },
  },
  {
    env: "TOKEN_TTL_SECONDS",
    shown: "`2592000` (30 days)",
    doc: "lifetime of an access token",
    read: (r) => {
      r.out.tokenTtlSeconds = r.int("TOKEN_TTL_SECONDS", 30 * 24 * 3600, 60, 365 * 24 * 3600);
    },
  },
  {
    env: "AUTO_MIGRATE",
    shown: "`true`",
    doc: "create the database and apply pending migrations on start; `false` for deployments that run `prisma migrate deploy` themselves",
    read: (r) => {
      r.out.autoMigrate = r.bool("AUTO_MIGRATE", true);
    },
  },
  {
    env: "RPC_DIRECT_UNARY",
    shown: "`true`",
    doc: "serve authenticated, uncompressed unary calls on the direct path instead of connect-node; `false` only to compare (docs/performance.md)",
    read: (r) => {
      r.out.directUnary = r.bool("RPC_DIRECT_UNARY", true);
    },
  },
  {
    env: "SHUTDOWN_TIMEOUT_MS",
    shown: "`10000`",
    doc: "bound on graceful shutdown (SIGTERM/SIGINT)",
    read: (r) => {
      r.out.shutdownTimeoutMs = r.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000);
    },
  },
  {
    env: "WEB_DIR",
    shown: "`web/dist`",
    doc: "built web client served at `/`",
    read: (r) => {
      r.out.webDir = r.str("WEB_DIR", "web/dist");
    },
  },
  ...feedSettings(),
  {
    env: "REDIS_COMMAND_TIMEOUT_MS",
    shown: "`1000`",
    doc: "a request-path Redis call slower than this counts as Redis being down (calls then skip Redis until it answers a PING)",
    read: (r) => {
      r.out.redisCommandTimeoutMs = r.int("REDIS_COMMAND_TIMEOUT_MS", 1_000, 10, 60_000);
    },
  },
  ...limitSettings(),
  {
    env: "AVATAR_HOSTS",
    shown: "empty",
    doc: "hosts avatar URLs may point at (`https` only), comma-separated, exact or `*.domain`; empty: no avatar URLs are accepted and clients show initials",
    read: (r) => {
      const { hosts, invalid } = parseHostList(r.str("AVATAR_HOSTS", ""));
      if (invalid.length > 0) {
        r.problem(
          `AVATAR_HOSTS has entries that are not host names: ${invalid.join(", ")} (use e.g. "images.example.com,*.cdn.example.com")`,
        );
      }
      r.out.avatarHosts = hosts;
    },
  },
  ...rateLimitSettings(),
  // --- operations (issue 14) ---
  {
    env: "METRICS_PORT",
    shown: "unset",
    doc: "serve Prometheus metrics at `/metrics` on this port of their own (bound to `HOST`; keep it private); unset: no such listener",
    read: (r) => {
      const raw = r.str("METRICS_PORT", "");
      r.out.metricsPort = raw === "" ? undefined : r.int("METRICS_PORT", 0, 1, 65535);
    },
  },
  {
    env: "METRICS_TOKEN",
    shown: "unset",
    doc: "also serve `/metrics` on `PORT`, to requests with `Authorization: Bearer <token>` (at least 16 characters); unset: not on `PORT`",
    read: (r) => {
      const token = r.str("METRICS_TOKEN", "");
      if (token !== "" && token.length < 16)
        r.problem("METRICS_TOKEN must have at least 16 characters");
      r.out.metricsToken = token === "" ? undefined : token;
    },
  },
  {
    env: "WEBHOOK_INTERVAL_MS",
    shown: "`1000`",
    doc: "how often each instance looks for webhook events to deliver (the longest wait of a batch that is not full)",
    read: (r) => {
      r.out.webhooks.intervalMs = r.int("WEBHOOK_INTERVAL_MS", 1000, 50, 60000);
    },
  },
  {
    env: "WEBHOOK_TIMEOUT_MS",
    shown: "`5000`",
    doc: "a webhook delivery not answered within it fails (and is retried)",
    read: (r) => {
      r.out.webhooks.timeoutMs = r.int("WEBHOOK_TIMEOUT_MS", 5000, 100, 120000);
    },
  },
  {
    env: "WEBHOOK_MAX_FAILURES",
    shown: "`10`",
    doc: "failed deliveries in a row after which a webhook endpoint pauses (AdminService.SetWebhookPaused resumes it)",
    read: (r) => {
      r.out.webhooks.maxFailures = r.int("WEBHOOK_MAX_FAILURES", 10, 1, 1000);
    },
  },
  {
    env: "WEBHOOK_LEASE_MS",
    shown: "`15000`",
    doc: "how long an instance keeps delivering to an endpoint without renewing its lease (another instance takes over after it dies)",
    read: (r) => {
      r.out.webhooks.leaseMs = r.int("WEBHOOK_LEASE_MS", 15000, 500, 600000);
    },
  },
  {
    env: "WEBHOOK_BACKOFF_MS",
    shown: "`1000`",
    doc: "first retry delay of a failed webhook delivery; doubles per failure, with jitter, up to 64 times it",
    read: (r) => {
      r.out.webhooks.backoffMs = r.int("WEBHOOK_BACKOFF_MS", 1000, 10, 600000);
    },
  },
  ...fileSettings(),
];

/**
 * A rate setting, `points/seconds` (e.g. `10/5`: 10 in a window of 5 s
 * that starts at the first one).
 */
function rateSetting(env: string, key: RateLimitName, fallback: string, doc: string): Setting {
  return {
    env,
    shown: `\`${fallback}\``,
    doc,
    read: (r) => {
      const raw = r.str(env, fallback);
      const m = /^(\d+)\/(\d+)$/.exec(raw);
      const points = Number(m?.[1]);
      const seconds = Number(m?.[2]);
      if (!m || points < 1 || points > 1_000_000 || seconds < 1 || seconds > 604_800) {
        r.problem(
          `${env}="${raw}" must be points/seconds, e.g. "${fallback}" (1-1000000 points, 1-604800 seconds)`,
        );
        const [p, sec] = fallback.split("/").map(Number);
        r.out.rateLimits.rates[key] = { points: p ?? 1, seconds: sec ?? 1 };
        return;
      }
      r.out.rateLimits.rates[key] = { points, seconds };
    },
  };
}

/** Limits and moderation (issue 13; docs/limits.md explains each). */
function rateLimitSettings(): Setting[] {
  const int = (
    env: string,
    key:
      | "loginLockoutSeconds"
      | "loginLockoutMaxSeconds"
      | "knownAddressDays"
      | "reactionsPerMessage"
      | "passwordMinLength",
    fallback: number,
    min: number,
    max: number,
    doc: string,
  ): Setting => ({
    env,
    shown: `\`${fallback}\``,
    doc,
    read: (r) => {
      r.out.rateLimits[key] = r.int(env, fallback, min, max);
    },
  });
  return [
    {
      env: "RATE_LIMITS_ENABLED",
      shown: "`true`",
      doc: "`false` turns every rate limit and the reaction quota off (the password policy stays); see docs/limits.md",
      read: (r) => {
        r.out.rateLimits.enabled = r.bool("RATE_LIMITS_ENABLED", true);
      },
    },
    rateSetting(
      "RATE_SEND_BURST",
      "sendBurst",
      "10/5",
      "messages and custom events per user (points/seconds), short bursts",
    ),
    rateSetting(
      "RATE_SEND_SUSTAINED",
      "sendSustained",
      "60/60",
      "messages and custom events per user (points/seconds), sustained",
    ),
    rateSetting("RATE_REACTIONS", "reactions", "30/10", "reactions added or removed per user"),
    int(
      "REACTIONS_PER_MESSAGE",
      "reactionsPerMessage",
      10,
      1,
      1_000,
      "distinct emoji one user may put on one message",
    ),
    rateSetting("RATE_TYPING", "typing", "20/10", "typing changes (`SetTyping`) per user"),
    rateSetting(
      "RATE_ROOM_CREATES",
      "roomCreates",
      "10/3600",
      "rooms and group DMs created per user",
    ),
    rateSetting(
      "RATE_INVITATIONS",
      "invitations",
      "50/3600",
      "users invited or added to rooms per user (each user counts)",
    ),
    rateSetting(
      "RATE_SUBSCRIBES",
      "subscribes",
      "20/60",
      "`Subscribe` calls and `Chat` `subscribe` commands per user",
    ),
    rateSetting("RATE_USER_SEARCHES", "userSearches", "30/60", "`SearchUsers` calls per user"),
    rateSetting(
      "RATE_REPORTS",
      "reports",
      "10/600",
      "reports of messages and users per user (`ReportMessage`, `ReportUser`)",
    ),
    rateSetting(
      "RATE_REGISTRATIONS",
      "registrations",
      "10/3600",
      "registrations per client address",
    ),
    rateSetting(
      "LOGIN_FAILURES_PER_ACCOUNT_ADDRESS",
      "loginFailuresPerAccountAddress",
      "5/900",
      "failed logins to one account from one address before it is locked out there (growing lockout)",
    ),
    int(
      "LOGIN_LOCKOUT_SECONDS",
      "loginLockoutSeconds",
      60,
      1,
      86_400,
      "first lockout of an account at one address; each next one doubles",
    ),
    int(
      "LOGIN_LOCKOUT_MAX_SECONDS",
      "loginLockoutMaxSeconds",
      3_600,
      1,
      604_800,
      "longest lockout of an account at one address",
    ),
    rateSetting(
      "LOGIN_FAILURES_PER_ADDRESS",
      "loginFailuresPerAddress",
      "50/3600",
      "failed logins from one address, whatever the account",
    ),
    rateSetting(
      "LOGIN_FAILURES_PER_ACCOUNT",
      "loginFailuresPerAccount",
      "100/3600",
      "failed logins to one account from all addresses; beyond, only addresses that logged in to it before may try",
    ),
    int(
      "LOGIN_KNOWN_ADDRESS_DAYS",
      "knownAddressDays",
      30,
      1,
      3_650,
      "how long an address that logged in to an account stays known to it",
    ),
    int(
      "PASSWORD_MIN_LENGTH",
      "passwordMinLength",
      8,
      8,
      256,
      "shortest password accepted at registration (the commonest passwords are refused too)",
    ),
    {
      env: "TRUSTED_PROXIES",
      shown: "empty",
      doc: "addresses or CIDR ranges of proxies whose `X-Forwarded-For` names the client; empty: the socket's address is the client's",
      read: (r) => {
        const list = r
          .str("TRUSTED_PROXIES", "")
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== "");
        const bad = list.filter((p) => {
          const [addr, bits, more] = p.split("/");
          const v = isIP(addr ?? "");
          if (v === 0 || more !== undefined) return true;
          if (bits === undefined) return false;
          const n = Number(bits);
          return !/^\d+$/.test(bits) || n > (v === 4 ? 32 : 128);
        });
        if (bad.length > 0) {
          r.problem(
            `TRUSTED_PROXIES has entries that are not addresses or CIDR ranges: ${bad.join(", ")}`,
          );
        }
        r.out.rateLimits.trustedProxies = list;
      },
    },
    {
      env: "DEFAULT_WHO_MAY_ADD",
      shown: "`shared_room`",
      doc: "who may add a user to a room, group or direct conversation without an invitation, until they choose (`anyone`, `shared_room`, `nobody`)",
      read: (r) => {
        const v = r.str("DEFAULT_WHO_MAY_ADD", "shared_room").toUpperCase();
        if (v !== "ANYONE" && v !== "SHARED_ROOM" && v !== "NOBODY") {
          r.problem(
            `DEFAULT_WHO_MAY_ADD="${v.toLowerCase()}" must be anyone, shared_room or nobody`,
          );
          r.out.defaultWhoMayAdd = "SHARED_ROOM";
          return;
        }
        r.out.defaultWhoMayAdd = v;
      },
    },
  ];
}

/**
 * A whole-number setting of a section: read with its bounds, shown with
 * its default, stored multiplied by `scale` (seconds held as milliseconds).
 */
function sectionInt<S extends "feed" | "limits" | "files">(
  section: S,
  env: string,
  key: keyof Config[S],
  fallback: number,
  bounds: { min: number; max: number; scale?: number },
  doc: string,
): Setting {
  return {
    env,
    shown: `\`${fallback}\``,
    doc,
    read: (r) => {
      const v = r.int(env, fallback, bounds.min, bounds.max) * (bounds.scale ?? 1);
      (r.out[section] as Record<keyof Config[S], number>)[key] = v;
    },
  };
}

function feedSettings(): Setting[] {
  return [
    sectionInt(
      "feed",
      "FEED_HEARTBEAT_MS",
      "heartbeatMs",
      15_000,
      { min: 1_000, max: 300_000 },
      "heartbeat interval of an idle feed (sent to clients in `ready`; a client may ask for its own)",
    ),
    sectionInt(
      "feed",
      "FEED_QUEUE_LIMIT",
      "queueLimit",
      1_000,
      { min: 10, max: 1_000_000 },
      "frames queued per feed before a reader too slow to keep up is cut (`RESOURCE_EXHAUSTED`)",
    ),
    sectionInt(
      "feed",
      "FEED_MAX_REPLAY",
      "maxReplay",
      1_000,
      { min: 1, max: 100_000 },
      "a room further behind than this on resume gets `reset` instead of a replay",
    ),
    sectionInt(
      "feed",
      "FEED_MAX_STREAMS_PER_USER",
      "maxStreamsPerUser",
      10,
      { min: 1, max: 1_000 },
      "open `Subscribe`/`Chat` streams per user across the cluster",
    ),
    sectionInt(
      "feed",
      "FEED_RECENT_EVENTS",
      "recentEvents",
      256,
      { min: 0, max: 100_000 },
      "latest events each room hub keeps in memory for feeds resuming a little behind",
    ),
    sectionInt(
      "feed",
      "FEED_LINGER_MS",
      "lingerMs",
      30_000,
      { min: 0, max: 3_600_000 },
      "how long a room hub stays after its last feed left (reconnect storms resume from memory)",
    ),
    sectionInt(
      "feed",
      "FEED_HEAD_CHECK_MS",
      "headCheckMs",
      5_000,
      { min: 0, max: 600_000 },
      "how often room hubs compare their head with the database (0: never); heals a lost publish",
    ),
    sectionInt(
      "feed",
      "FEED_SESSION_CHECK_MS",
      "sessionCheckMs",
      10_000,
      { min: 0, max: 600_000 },
      "how often open feeds re-check their session for revocation and expiry (0: never)",
    ),
  ];
}

function limitSettings(): Setting[] {
  return [
    sectionInt(
      "limits",
      "MAX_CONNECTIONS",
      "maxConnections",
      10_000,
      { min: 1, max: 1_000_000 },
      "open TCP connections per process; beyond, new ones are closed before a byte is read",
    ),
    sectionInt(
      "limits",
      "HTTP2_MAX_CONCURRENT_STREAMS",
      "maxConcurrentStreams",
      250,
      { min: 1, max: 100_000 },
      "streams per HTTP/2 session (advertised in SETTINGS; more are refused with `REFUSED_STREAM`)",
    ),
    sectionInt(
      "limits",
      "HEADERS_TIMEOUT_SECONDS",
      "headersTimeoutMs",
      10,
      { min: 1, max: 600, scale: 1000 },
      "a new connection's first bytes, HTTP/1.1 request headers and an HTTP/2 session's first stream must arrive within it",
    ),
    sectionInt(
      "limits",
      "BODY_TIMEOUT_SECONDS",
      "bodyIdleTimeoutMs",
      10,
      { min: 1, max: 3_600, scale: 1000 },
      "longest pause within a request body (408)",
    ),
    sectionInt(
      "limits",
      "REQUEST_TIMEOUT_SECONDS",
      "requestTimeoutMs",
      60,
      { min: 1, max: 3_600, scale: 1000 },
      "a whole request (headers and body) must arrive within it (408); never cuts a stream's responses",
    ),
    sectionInt(
      "limits",
      "KEEP_ALIVE_TIMEOUT_SECONDS",
      "keepAliveTimeoutMs",
      65,
      { min: 1, max: 3_600, scale: 1000 },
      "idle HTTP/1.1 connection between requests",
    ),
    sectionInt(
      "limits",
      "HTTP2_IDLE_TIMEOUT_SECONDS",
      "sessionIdleTimeoutMs",
      300,
      { min: 1, max: 86_400, scale: 1000 },
      "HTTP/2 session without an open stream (`GOAWAY`)",
    ),
    sectionInt(
      "limits",
      "MAX_UNAUTHENTICATED_STREAMS",
      "maxUnauthenticatedStreams",
      100,
      { min: 0, max: 1_000_000 },
      "open `Health/Watch` and reflection streams without a token, per process (`RESOURCE_EXHAUSTED` beyond)",
    ),
  ];
}

/** Uploads and storage (issue 16; README "Files and images"). */
function fileSettings(): Setting[] {
  return [
    {
      env: "STORAGE_DIR",
      shown: "`data/files`",
      doc: "directory of uploaded files when `S3_BUCKET` is empty (one instance, or a shared volume)",
      read: (r) => {
        r.out.files.storageDir = r.str("STORAGE_DIR", "data/files");
      },
    },
    {
      env: "S3_BUCKET",
      shown: "empty",
      doc: "keep files in this S3 bucket instead of `STORAGE_DIR` (needed by several instances); credentials from the usual `AWS_*` variables",
      read: (r) => {
        r.out.files.s3Bucket = r.str("S3_BUCKET", "");
      },
    },
    {
      env: "S3_ENDPOINT",
      shown: "empty",
      doc: "endpoint of an S3-compatible store, e.g. `http://minio:9000`; empty: AWS",
      read: (r) => {
        const raw = r.str("S3_ENDPOINT", "");
        if (raw !== "") {
          const u = parseUrl(raw);
          if (!u || !["http:", "https:"].includes(u.protocol)) {
            r.problem(`S3_ENDPOINT="${raw}" must be an http(s) URL (or unset it)`);
          }
        }
        r.out.files.s3Endpoint = raw;
      },
    },
    {
      env: "S3_REGION",
      shown: "`us-east-1`",
      doc: "region of the S3 bucket",
      read: (r) => {
        r.out.files.s3Region = r.str("S3_REGION", "us-east-1");
      },
    },
    {
      env: "S3_FORCE_PATH_STYLE",
      shown: "`false`",
      doc: "path-style bucket URLs (most S3-compatible stores need `true`)",
      read: (r) => {
        r.out.files.s3ForcePathStyle = r.bool("S3_FORCE_PATH_STYLE", false);
      },
    },
    sectionInt(
      "files",
      "UPLOAD_MAX_FILE_BYTES",
      "maxFileBytes",
      26_214_400,
      { min: 1, max: 5 * 1024 ** 3 },
      "largest file, in bytes (25 MiB); a body beyond it is cut off while it streams and nothing is kept",
    ),
    sectionInt(
      "files",
      "UPLOAD_USER_QUOTA_BYTES",
      "maxUserBytes",
      1_073_741_824,
      { min: 1, max: 1024 ** 4 },
      "total bytes of one user's files, announced ones included (1 GiB)",
    ),
    sectionInt(
      "files",
      "UPLOAD_MAX_IMAGE_PIXELS",
      "maxImagePixels",
      50_000_000,
      { min: 1, max: 1_000_000_000 },
      "largest image decoded, width x height x frames; larger ones are refused (decompression bombs)",
    ),
    sectionInt(
      "files",
      "UPLOAD_TTL_SECONDS",
      "unattachedTtlMs",
      86_400,
      { min: 60, max: 30 * 86_400, scale: 1000 },
      "an upload never attached to a message is removed (row and file) after this long",
    ),
  ];
}

/** Splits a comma-separated host list into valid names (exact or `*.domain`) and the rest. */
export function parseHostList(raw: string): { hosts: string[]; invalid: string[] } {
  const hosts: string[] = [];
  const invalid: string[] = [];
  const name = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  for (const part of raw.split(",")) {
    const h = part.trim().toLowerCase();
    if (h === "") continue;
    if (name.test(h) && !(h.startsWith("*.") && !h.slice(2).includes("."))) hosts.push(h);
    else invalid.push(part.trim());
  }
  return { hosts, invalid };
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

/**
 * The environment variables of the server (config.ts reads them): each
 * with its default, bounds, where it goes in the Config, and the line the
 * README's table shows for it.
 */
import { type Config, logLevels } from "./config-types.js";

export type { Config, FeedConfig, FilesConfig, LimitsConfig } from "./config-types.js";

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
  ...fileSettings(),
];

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

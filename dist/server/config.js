/**
 * Every setting of the server, its default and what it means, in one place.
 *
 * Settings an operator sets are environment variables ({@link settings}):
 * read and validated at start by {@link loadConfig}, every problem reported
 * at once with what to set, and documented by {@link configTable} (the
 * README's table is checked against it by a test). Tunables that are code
 * constants rather than deployment choices are in {@link tuning}. Modules
 * take their options from here; none keeps defaults of its own.
 *
 * A leaf module: it imports nothing from the server, so every layer may
 * import it.
 */
/** pino's levels. */
const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const seconds = (r, name, fallback, max) => r.int(name, fallback, 1, max) * 1000;
/** Every environment variable the server reads, in the README's order. */
export const settings = [
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
                r.problem(`DATABASE_URL="${redact(url)}" must look like mysql://user:password@host:3306/database`);
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
            const level = r.str("LOG_LEVEL", "info");
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
                r.problem(`AVATAR_HOSTS has entries that are not host names: ${invalid.join(", ")} (use e.g. "images.example.com,*.cdn.example.com")`);
            }
            r.out.avatarHosts = hosts;
        },
    },
];
function feedSettings() {
    const feed = (env, key, fallback, min, max, doc) => ({
        env,
        shown: `\`${fallback}\``,
        doc,
        read: (r) => {
            r.out.feed[key] = r.int(env, fallback, min, max);
        },
    });
    return [
        feed("FEED_HEARTBEAT_MS", "heartbeatMs", 15_000, 1_000, 300_000, "heartbeat interval of an idle feed (sent to clients in `ready`; a client may ask for its own)"),
        feed("FEED_QUEUE_LIMIT", "queueLimit", 1_000, 10, 1_000_000, "frames queued per feed before a reader too slow to keep up is cut (`RESOURCE_EXHAUSTED`)"),
        feed("FEED_MAX_REPLAY", "maxReplay", 1_000, 1, 100_000, "a room further behind than this on resume gets `reset` instead of a replay"),
        feed("FEED_MAX_STREAMS_PER_USER", "maxStreamsPerUser", 10, 1, 1_000, "open `Subscribe`/`Chat` streams per user across the cluster"),
        feed("FEED_RECENT_EVENTS", "recentEvents", 256, 0, 100_000, "latest events each room hub keeps in memory for feeds resuming a little behind"),
        feed("FEED_LINGER_MS", "lingerMs", 30_000, 0, 3_600_000, "how long a room hub stays after its last feed left (reconnect storms resume from memory)"),
        feed("FEED_HEAD_CHECK_MS", "headCheckMs", 5_000, 0, 600_000, "how often room hubs compare their head with the database (0: never); heals a lost publish"),
        feed("FEED_SESSION_CHECK_MS", "sessionCheckMs", 10_000, 0, 600_000, "how often open feeds re-check their session for revocation and expiry (0: never)"),
    ];
}
function limitSettings() {
    const count = (env, key, fallback, min, max, doc) => ({
        env,
        shown: `\`${fallback}\``,
        doc,
        read: (r) => {
            r.out.limits[key] = r.int(env, fallback, min, max);
        },
    });
    const secs = (env, key, fallback, max, doc) => ({
        env,
        shown: `\`${fallback}\``,
        doc,
        read: (r) => {
            r.out.limits[key] = seconds(r, env, fallback, max);
        },
    });
    return [
        count("MAX_CONNECTIONS", "maxConnections", 10_000, 1, 1_000_000, "open TCP connections per process; beyond, new ones are closed before a byte is read"),
        count("HTTP2_MAX_CONCURRENT_STREAMS", "maxConcurrentStreams", 250, 1, 100_000, "streams per HTTP/2 session (advertised in SETTINGS; more are refused with `REFUSED_STREAM`)"),
        secs("HEADERS_TIMEOUT_SECONDS", "headersTimeoutMs", 10, 600, "a new connection's first bytes, HTTP/1.1 request headers and an HTTP/2 session's first stream must arrive within it"),
        secs("BODY_TIMEOUT_SECONDS", "bodyIdleTimeoutMs", 10, 3_600, "longest pause within a request body (408)"),
        secs("REQUEST_TIMEOUT_SECONDS", "requestTimeoutMs", 60, 3_600, "a whole request (headers and body) must arrive within it (408); never cuts a stream's responses"),
        secs("KEEP_ALIVE_TIMEOUT_SECONDS", "keepAliveTimeoutMs", 65, 3_600, "idle HTTP/1.1 connection between requests"),
        secs("HTTP2_IDLE_TIMEOUT_SECONDS", "sessionIdleTimeoutMs", 300, 86_400, "HTTP/2 session without an open stream (`GOAWAY`)"),
        count("MAX_UNAUTHENTICATED_STREAMS", "maxUnauthenticatedStreams", 100, 0, 1_000_000, "open `Health/Watch` and reflection streams without a token, per process (`RESOURCE_EXHAUSTED` beyond)"),
    ];
}
/** Thrown by {@link loadConfig}; `problems` lists every invalid variable. */
export class ConfigError extends Error {
    problems;
    constructor(problems) {
        super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
        this.problems = problems;
        this.name = "ConfigError";
    }
}
/** Reads and validates the configuration from `env` (usually `process.env`). */
export function loadConfig(env) {
    const problems = [];
    const str = (name, fallback) => {
        const v = env[name];
        return v === undefined || v.trim() === "" ? fallback : v.trim();
    };
    const reader = {
        str,
        int(name, fallback, min, max) {
            const raw = str(name, String(fallback));
            const n = Number(raw);
            if (!Number.isInteger(n) || n < min || n > max) {
                problems.push(`${name}="${raw}" must be an integer from ${min} to ${max}`);
                return fallback;
            }
            return n;
        },
        bool(name, fallback) {
            const raw = str(name, String(fallback)).toLowerCase();
            if (["1", "true", "yes", "on"].includes(raw))
                return true;
            if (["0", "false", "no", "off"].includes(raw))
                return false;
            problems.push(`${name}="${raw}" must be true or false`);
            return fallback;
        },
        out: { feed: {}, limits: {} },
        problem: (m) => problems.push(m),
    };
    for (const s of settings)
        s.read(reader);
    if (problems.length > 0)
        throw new ConfigError(problems);
    return reader.out;
}
/** The configuration with every variable unset. */
export const defaults = loadConfig({});
/** The README's configuration table, as markdown rows (checked by a test). */
export function configTable() {
    return [
        "| variable | default | meaning |",
        "| --- | --- | --- |",
        ...settings.map((s) => `| \`${s.env}\` | ${s.shown} | ${s.doc} |`),
    ];
}
/**
 * Tunables that are code, not deployment choices: changing one is a
 * measured decision, made here, in one place.
 */
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
};
/** Splits a comma-separated host list into valid names (exact or `*.domain`) and the rest. */
export function parseHostList(raw) {
    const hosts = [];
    const invalid = [];
    const name = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
    for (const part of raw.split(",")) {
        const h = part.trim().toLowerCase();
        if (h === "")
            continue;
        if (name.test(h) && !(h.startsWith("*.") && !h.slice(2).includes(".")))
            hosts.push(h);
        else
            invalid.push(part.trim());
    }
    return { hosts, invalid };
}
function parseUrl(s) {
    try {
        return new URL(s);
    }
    catch {
        return undefined;
    }
}
/** Hides the password of a URL, for logs and error messages. */
export function redact(url) {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
//# sourceMappingURL=config.js.map
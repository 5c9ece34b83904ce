/**
 * Whether MySQL can be reached, known without waiting. While the database
 * is down every new connection attempt of a pool waits out its acquire
 * timeout (10 s), so each call would hang that long before failing. The
 * gate keeps one watcher connection of its own: it closes the moment the
 * server dies, and a ping every few seconds notices a server that stopped
 * answering. While the gate is closed, calls fail at once with Unavailable
 * and RetryInfo; a reconnect attempt every `probeEveryMs` opens it again.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import * as mariadb from "mariadb";
import { ErrorReason } from "../../gen/chat/v1/errors_pb.js";
import { tuning } from "../config.js";
import { unavailable } from "../platform/errors.js";
import { isDbUnreachable } from "./errors.js";
import { connectionConfig, parseDatabaseUrl } from "./migrate/migrate.js";
/** From config.ts (tuning.dbGate). */
export const defaultDbGateOptions = tuning.dbGate;
/** A watcher over a plain mariadb connection to `databaseUrl`. */
export function mariadbWatcher(databaseUrl, timeoutMs) {
    const config = {
        ...connectionConfig(parseDatabaseUrl(databaseUrl)),
        connectTimeout: timeoutMs,
        queryTimeout: timeoutMs,
    };
    return {
        async connect(onLost) {
            const conn = await mariadb.createConnection(config);
            let lost = false;
            const gone = (err) => {
                if (lost)
                    return;
                lost = true;
                onLost(err);
            };
            conn.on("error", gone);
            conn.on("end", () => gone(new Error("database connection ended")));
            return {
                async ping() {
                    await conn.ping();
                },
                close() {
                    lost = true;
                    conn.destroy();
                },
            };
        },
    };
}
/** Tracks whether the database answers; see the file comment. */
export class DbGate {
    watcher;
    logger;
    down = false;
    conn;
    timer;
    closed = false;
    listeners = new Set();
    options;
    constructor(watcher, logger, options = {}) {
        this.watcher = watcher;
        this.logger = logger;
        this.options = { ...defaultDbGateOptions, ...options };
    }
    /** Opens the watcher connection; the gate starts open either way. */
    start() {
        void this.probe();
    }
    /** True unless the database is known to be unreachable. */
    get available() {
        return !this.down;
    }
    /** Calls `fn` on every change; returns the unsubscribe function. */
    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }
    /** Throws Unavailable with RetryInfo while the database is down. */
    check() {
        if (this.down)
            throw databaseUnavailable(this.options.probeEveryMs * 2);
    }
    /**
     * A caller saw `err`: if it says the database cannot be reached, close
     * the gate now instead of at the next ping.
     */
    observe(err) {
        if (isDbUnreachable(err))
            this.trip(err);
    }
    trip(err) {
        if (this.closed)
            return;
        this.conn?.close();
        this.conn = undefined;
        if (!this.down) {
            this.down = true;
            this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "database unreachable: failing writes fast until it answers");
            this.emit(false);
        }
        this.schedule(this.options.probeEveryMs);
    }
    schedule(ms) {
        clearTimeout(this.timer);
        if (this.closed)
            return;
        this.timer = setTimeout(() => void (this.conn ? this.ping() : this.probe()), ms);
        this.timer.unref();
    }
    async probe() {
        if (this.closed)
            return;
        try {
            // The watcher bounds its own connect (connectTimeout): a timed-out
            // race here would leave the late connection open.
            const conn = await this.watcher.connect((err) => {
                if (this.conn === conn)
                    this.trip(err);
            });
            if (this.closed) {
                conn.close();
                return;
            }
            this.conn = conn;
            if (this.down) {
                this.down = false;
                this.logger.info("database reachable again");
                this.emit(true);
            }
            this.schedule(this.options.pingEveryMs);
        }
        catch (err) {
            this.trip(err);
        }
    }
    async ping() {
        const conn = this.conn;
        if (!conn || this.closed)
            return;
        try {
            await withTimeout(conn.ping(), this.options.timeoutMs);
            this.schedule(this.options.pingEveryMs);
        }
        catch (err) {
            if (this.conn === conn)
                this.trip(err);
        }
    }
    emit(up) {
        for (const fn of this.listeners) {
            try {
                fn(up);
            }
            catch (err) {
                this.logger.error({ err }, "database gate listener failed");
            }
        }
    }
    /** Stops watching (shutdown). */
    close() {
        this.closed = true;
        clearTimeout(this.timer);
        this.conn?.close();
        this.conn = undefined;
    }
}
/** Unavailable because the database cannot be reached, with a retry delay. */
export function databaseUnavailable(retryAfterMs) {
    return unavailable("the database is unreachable right now; retry shortly", retryAfterMs, ErrorReason.DEPENDENCY_UNAVAILABLE);
}
function withTimeout(p, ms) {
    let timer;
    return Promise.race([
        p.finally(() => clearTimeout(timer)),
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new ConnectError(`no answer within ${ms} ms`, Code.DeadlineExceeded)), ms);
        }),
    ]);
}
//# sourceMappingURL=db-gate.js.map
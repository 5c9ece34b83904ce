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
import type { Logger } from "pino";
import { ErrorReason } from "../../gen/chat/v1/errors_pb.js";
import { tuning } from "../config.js";
import { unavailable } from "../platform/errors.js";
import { Listeners } from "../platform/listeners.js";
import { isDbUnreachable } from "./errors.js";
import { connectionConfig, parseDatabaseUrl } from "./migrate/migrate.js";

/** Timing of the gate. */
export interface DbGateOptions {
  /** Ping of the watcher connection while the database is up. */
  pingEveryMs: number;
  /** Reconnect attempts while it is down. */
  probeEveryMs: number;
  /** A connect or ping slower than this counts as a failure. */
  timeoutMs: number;
}

/** From config.ts (tuning.dbGate). */
export const defaultDbGateOptions: DbGateOptions = tuning.dbGate;

/** What the gate needs to watch the database. */
export interface DbWatcher {
  /** Opens a connection; `onLost` is called once if it breaks later. */
  connect(onLost: (err: unknown) => void): Promise<{ ping(): Promise<void>; close(): void }>;
}

/** A watcher over a plain mariadb connection to `databaseUrl`. */
export function mariadbWatcher(databaseUrl: string, timeoutMs: number): DbWatcher {
  const config = {
    ...connectionConfig(parseDatabaseUrl(databaseUrl)),
    connectTimeout: timeoutMs,
    queryTimeout: timeoutMs,
  };
  return {
    async connect(onLost) {
      const conn = await mariadb.createConnection(config);
      let lost = false;
      const gone = (err: unknown) => {
        if (lost) return;
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
  private down = false;
  private conn: { ping(): Promise<void>; close(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners: Listeners<boolean>;
  private readonly options: DbGateOptions;

  constructor(
    private readonly watcher: DbWatcher,
    private readonly logger: Logger,
    options: Partial<DbGateOptions> = {},
  ) {
    this.options = { ...defaultDbGateOptions, ...options };
    this.listeners = new Listeners(logger, "database gate");
  }

  /** Opens the watcher connection; the gate starts open either way. */
  start(): void {
    void this.probe();
  }

  /** True unless the database is known to be unreachable. */
  get available(): boolean {
    return !this.down;
  }

  /** Calls `fn` on every change; returns the unsubscribe function. */
  onChange(fn: (up: boolean) => void): () => void {
    return this.listeners.add(fn);
  }

  /** Throws Unavailable with RetryInfo while the database is down. */
  check(): void {
    if (this.down) throw databaseUnavailable(this.options.probeEveryMs * 2);
  }

  /**
   * A caller saw `err`: if it says the database cannot be reached, close
   * the gate now instead of at the next ping.
   */
  observe(err: unknown): void {
    if (isDbUnreachable(err)) this.trip(err);
  }

  private trip(err: unknown): void {
    if (this.closed) return;
    this.conn?.close();
    this.conn = undefined;
    if (!this.down) {
      this.down = true;
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "database unreachable: failing writes fast until it answers",
      );
      this.listeners.emit(false);
    }
    this.schedule(this.options.probeEveryMs);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void (this.conn ? this.ping() : this.probe()), ms);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed) return;
    try {
      // The watcher bounds its own connect (connectTimeout): a timed-out
      // race here would leave the late connection open.
      const conn = await this.watcher.connect((err) => {
        if (this.conn === conn) this.trip(err);
      });
      if (this.closed) {
        conn.close();
        return;
      }
      this.conn = conn;
      if (this.down) {
        this.down = false;
        this.logger.info("database reachable again");
        this.listeners.emit(true);
      }
      this.schedule(this.options.pingEveryMs);
    } catch (err) {
      this.trip(err);
    }
  }

  private async ping(): Promise<void> {
    const conn = this.conn;
    if (!conn || this.closed) return;
    try {
      await withTimeout(conn.ping(), this.options.timeoutMs);
      this.schedule(this.options.pingEveryMs);
    } catch (err) {
      if (this.conn === conn) this.trip(err);
    }
  }

  /** Stops watching (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.conn?.close();
    this.conn = undefined;
  }
}

/** Unavailable because the database cannot be reached, with a retry delay. */
export function databaseUnavailable(retryAfterMs: number): ConnectError {
  return unavailable(
    "the database is unreachable right now; retry shortly",
    retryAfterMs,
    ErrorReason.DEPENDENCY_UNAVAILABLE,
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectError(`no answer within ${ms} ms`, Code.DeadlineExceeded)),
        ms,
      );
    }),
  ]);
}

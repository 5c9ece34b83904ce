/**
 * What the chaos run breaks: its own MariaDB and Redis
 * (test/support/private-services.ts: real processes on free loopback
 * ports, never the machine's shared services) and two instances of our
 * server, each started as `npm start` starts it (`node --import tsx
 * server/main.ts`, through lib/server-process.ts, with PORT,
 * DATABASE_URL, REDIS_URL and LOG_LEVEL in its environment). Every
 * instance keeps its port across restarts, as behind a load balancer, and
 * its output goes to a log file per instance.
 */
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { ensureDatabase, migrate } from "../../server/store/migrate/migrate.js";
import {
  freePort,
  type PrivateService,
  startPrivateMariaDb,
  startPrivateRedis,
} from "../../test/support/private-services.js";
import { type ServerProcess, startServer } from "../lib/server-process.js";
import { startReaper } from "./reaper.js";

/** One server instance that can be killed, stopped, paused and started again. */
export class ServerInstance {
  private proc: ServerProcess | undefined;
  private readonly logFile: WriteStream;
  /** Warning and error lines logged so far (all starts). */
  warnLines = 0;
  /** The first few of them, for the report. */
  readonly warnHead: string[] = [];
  starts = 0;
  paused = false;
  private closed = false;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    readonly logPath: string,
  ) {
    this.logFile = createWriteStream(logPath, { flags: "a" });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Pid of the node process running server/main.ts, while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /**
   * Starts the instance on its port and waits until `/healthz` says
   * SERVING (`healthy`) or answers at all (`listening`: a dependency is down).
   */
  async start(waitFor: "healthy" | "listening" = "healthy"): Promise<void> {
    if (this.proc) throw new Error(`instance ${this.name} is running`);
    this.starts += 1;
    this.note(`starting (waiting until ${waitFor})`);
    const proc = await startServer({
      databaseUrl: this.env.DATABASE_URL as string,
      env: this.env,
      port: this.port,
      waitFor,
      readyTimeoutMs: 60_000,
      onLine: (line) => this.onLine(line),
    });
    // The pid must be the server's own (signals to an `npm` wrapper would
    // not reach it): check what it runs.
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0").join(" ");
    if (!cmdline.includes("server/main.ts")) {
      await proc.stop(2_000);
      throw new Error(`pid ${proc.pid} runs "${cmdline}", not server/main.ts`);
    }
    this.proc = proc;
    this.paused = false;
    this.note(`running as pid ${proc.pid}`);
    void proc.exited.then((code) => {
      this.note(`pid ${proc.pid} exited (${code})`);
      if (this.proc === proc) this.proc = undefined;
    });
  }

  /** SIGKILL (after SIGCONT if paused); resolves once the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.note(`SIGKILL pid ${proc.pid}`);
    process.kill(proc.pid, "SIGCONT");
    process.kill(proc.pid, "SIGKILL");
    await proc.exited;
    this.proc = undefined;
    this.paused = false;
  }

  /** SIGTERM: graceful shutdown, SIGKILL after `graceMs`. Returns the exit code and the time it took. */
  async terminate(graceMs: number): Promise<{ exit: number | string; ms: number }> {
    const proc = this.proc;
    if (!proc) return { exit: "not running", ms: 0 };
    this.note(`SIGTERM pid ${proc.pid}`);
    const t0 = performance.now();
    await proc.stop(graceMs);
    const exit = await proc.exited;
    this.proc = undefined;
    return { exit, ms: performance.now() - t0 };
  }

  /** SIGSTOP: the process keeps its sockets and answers nothing. */
  pause(): void {
    if (!this.proc) return;
    this.note(`SIGSTOP pid ${this.proc.pid}`);
    process.kill(this.proc.pid, "SIGSTOP");
    this.paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    if (!this.proc) return;
    this.note(`SIGCONT pid ${this.proc.pid}`);
    process.kill(this.proc.pid, "SIGCONT");
    this.paused = false;
  }

  /** Graceful stop at the end of the run. */
  async close(): Promise<void> {
    if (this.proc) await this.terminate(15_000);
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.logFile.end(resolve));
  }

  /** A line of ours in the instance's log file. */
  note(what: string): void {
    if (this.closed) return;
    this.logFile.write(`--- chaos ${new Date().toISOString()} instance ${this.name}: ${what}\n`);
  }

  private onLine(line: string): void {
    if (!this.closed) this.logFile.write(`${line}\n`);
    // pino levels: 40 warn, 50 error, 60 fatal; anything not JSON is stderr.
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level === undefined || Number(level) >= 40) {
      this.warnLines += 1;
      if (this.warnHead.length < 20) this.warnHead.push(line.slice(0, 400));
    }
  }
}

/** The private services and the two instances. */
export class Cluster {
  private constructor(
    readonly mariadb: PrivateService,
    readonly redis: PrivateService,
    readonly databaseUrl: string,
    readonly instances: ServerInstance[],
  ) {}

  /**
   * Starts MariaDB and Redis, creates and migrates the database (with the
   * server's own migration runner), then starts the instances.
   */
  static async start(o: {
    instances: number;
    logDir: string;
    serverEnv: Record<string, string>;
    log: (line: string) => void;
    /** Registers what must be undone, last first. */
    onCleanup: (name: string, fn: () => Promise<void>) => void;
  }): Promise<Cluster> {
    const t0 = performance.now();
    const [mariadb, redis] = await Promise.all([startPrivateMariaDb(), startPrivateRedis()]);
    o.onCleanup("destroy private MariaDB", () => mariadb.destroy());
    o.onCleanup("destroy private Redis", () => redis.destroy());
    const stopReaper = startReaper({ mariadbPort: mariadb.port, redisPort: redis.port });
    o.onCleanup("stop the reaper", async () => stopReaper());
    o.log(
      `private MariaDB on port ${mariadb.port}, Redis on port ${redis.port} (${Math.round(performance.now() - t0)} ms)`,
    );
    const databaseUrl = `${mariadb.url}/chat_chaos`;
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl, { log: () => {} });
    const names = "abcdefghij";
    const instances: ServerInstance[] = [];
    for (let i = 0; i < o.instances; i++) {
      const name = names[i] ?? String(i);
      instances.push(
        new ServerInstance(
          i,
          name,
          await freePort(),
          {
            DATABASE_URL: databaseUrl,
            REDIS_URL: redis.url,
            ...o.serverEnv,
          },
          join(o.logDir, `instance-${name}.log`),
        ),
      );
    }
    const cluster = new Cluster(mariadb, redis, databaseUrl, instances);
    o.onCleanup("stop instances", () => cluster.closeInstances());
    await Promise.all(instances.map((i) => i.start()));
    o.log(
      `instances ${instances.map((i) => `${i.name} pid ${i.pid} port ${i.port}`).join(", ")} (${Math.round(performance.now() - t0)} ms)`,
    );
    return cluster;
  }

  /** Stops every instance gracefully (SIGCONT first if paused). */
  async closeInstances(): Promise<void> {
    for (const i of this.instances) if (i.paused) i.resume();
    await Promise.all(this.instances.map((i) => i.close()));
  }
}

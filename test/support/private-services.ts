/**
 * Private MariaDB and Redis servers for fault tests: real processes on free
 * loopback ports that a test starts, kills (SIGKILL), pauses (SIGSTOP) and
 * restarts on the same port and data, never the machine's shared services.
 * Used by the fault tests under test/ and by the chaos suite (bench/chaos).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A server process that can be killed, paused and started again on the same port and data. */
export interface PrivateService {
  readonly port: number;
  /** `redis://...` or `mysql://...` URL of the service (MariaDB: its server, no database). */
  readonly url: string;
  /** True while the process runs (paused counts as running). */
  readonly running: boolean;
  /** Starts it again after kill/stop, same port and data. */
  start(): Promise<void>;
  /** SIGKILL: no chance to flush or say goodbye. */
  kill(): Promise<void>;
  /** SIGSTOP: the process holds its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** Kills it and removes its data. */
  destroy(): Promise<void>;
}

class ProcessService implements PrivateService {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly url: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly cleanup: () => Promise<void>,
    private readonly ready: () => Promise<void>,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.command, this.args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4_000);
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    try {
      await Promise.race([
        this.ready(),
        this.exited.then(() => {
          throw new Error(`${this.command} exited at start: ${stderr}`);
        }),
      ]);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await this.exited;
    this.child = undefined;
  }

  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async destroy(): Promise<void> {
    await this.kill();
    await this.cleanup();
  }
}

/** Starts a private `redis-server` (nothing on disk: a kill loses everything, like a cache node). */
export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort();
  const svc = new ProcessService(
    port,
    `redis://127.0.0.1:${port}`,
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    async () => {},
    () => waitForPort(port),
  );
  await svc.start();
  return svc;
}

/**
 * Starts a private MariaDB in a fresh data directory (`mariadb-install-db`
 * takes a few seconds). Root has no password; `url` names no database.
 */
export async function startPrivateMariaDb(): Promise<PrivateService> {
  const dir = await mkdtemp(join(tmpdir(), "chat-mariadb-"));
  const datadir = join(dir, "data");
  await run("mariadb-install-db", [
    "--no-defaults",
    "--user=root",
    `--datadir=${datadir}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  const port = await freePort();
  const mariadbd = process.env.MARIADBD ?? "/usr/sbin/mariadbd";
  const svc = new ProcessService(
    port,
    `mysql://root@127.0.0.1:${port}`,
    mariadbd,
    [
      "--no-defaults",
      "--user=root",
      `--datadir=${datadir}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dir, "sock")}`,
      `--pid-file=${join(dir, "pid")}`,
      "--skip-grant-tables",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=64M",
      "--innodb-log-file-size=16M",
      "--max-connections=500",
    ],
    () => rm(dir, { recursive: true, force: true }),
    () => waitForPort(port, 60_000),
  );
  await svc.start();
  return svc;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} failed (${code}): ${stderr}`)),
    );
  });
}

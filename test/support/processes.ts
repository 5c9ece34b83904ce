/**
 * Real processes: the chat server started the way production starts it
 * (`node --import tsx server/main.ts`, configured by environment) on a
 * fixed port, so it can be killed and started again where its clients
 * expect it (several instances, the bot, the terminal client, a packed
 * SDK); any Node program with its output collected line by line; and
 * programs run to their end for a JSON report (a stuck one is killed and
 * fails the test instead of freezing the runner).
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import type { TestEnv } from "./env.js";
import { freePort } from "./private-services.js";

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Every process started here, stopped when the test process exits. */
const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

/** A running program and its output. */
export class NodeProcess {
  readonly lines: string[] = [];
  /** All output so far, unsplit (a prompt has no newline yet). */
  raw = "";
  readonly exited: Promise<number | string>;
  private waiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    started.add(child);
    const collect = () => {
      let partial = "";
      return (chunk: Buffer) => {
        this.raw += chunk.toString("utf8");
        const all = (partial + chunk.toString("utf8")).split("\n");
        partial = all.pop() ?? "";
        for (const line of all) if (line.trim() !== "") this.lines.push(line);
        for (const w of this.waiters.splice(0)) w();
      };
    };
    child.stdout?.on("data", collect());
    child.stderr?.on("data", collect());
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        started.delete(child);
        resolve(code ?? signal ?? "unknown");
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line (from `from` on) that `match` accepts. */
  async waitForLine(
    match: (line: string) => boolean,
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<string> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let i = opts.from ?? 0;
    for (;;) {
      for (; i < this.lines.length; i++) {
        const line = this.lines[i] as string;
        if (match(line)) return line;
      }
      if (!this.running) {
        throw new Error(`${this.name} exited before the line came; output:\n${this.tail()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no such line in time; output:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The last lines of output, for failure messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  /** SIGTERM (or the signal given), SIGKILL after `graceMs`; resolves when gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `node <args>` in the repository (or `cwd`) with `env` over ours. */
export function startNode(
  name: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; stdin?: boolean } = {},
): NodeProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd ?? repoRoot,
    env,
    stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  return new NodeProcess(name, child);
}

/** Node options that run a workspace program from its TypeScript source. */
export const fromSource = ["--conditions=protochat-source", "--import", "tsx"];

/**
 * Runs `node <args>` in the repository to its end and returns the JSON of
 * its last output line. One not done within `ms` is killed, and the error
 * says `stuck` about it.
 */
export async function runForJson<T>(
  name: string,
  args: string[],
  ms: number,
  stuck = "",
): Promise<T> {
  const proc = startNode(name, args);
  // "close": the output is complete (an exit may come before the last data).
  const closed = new Promise<void>((resolve) => proc.child.once("close", () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  const outcome = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    await proc.stop("SIGKILL");
    throw new Error(`${name} did not finish within ${ms} ms${stuck}\noutput:\n${proc.tail()}`);
  }
  const code = await proc.exited;
  const line = proc.lines.at(-1) ?? "";
  if (code === 0 && line.startsWith("{")) return JSON.parse(line) as T;
  throw new Error(`${name} exited with ${code}\noutput:\n${proc.tail()}`);
}

/** Preloaded into server processes: they never outlive the test process that started them. */
const exitWithParent = new URL("./exit-with-parent.ts", import.meta.url).href;

/** The chat server as its own process on a fixed port. */
export class ServerProcess {
  private proc: NodeProcess | undefined;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string | undefined>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The running process, if any. */
  get process(): NodeProcess | undefined {
    return this.proc;
  }

  /** Starts it and waits until /healthz answers 200. */
  async start(timeoutMs = 60_000): Promise<void> {
    const args = ["--import", "tsx", "--import", exitWithParent, "server/main.ts"];
    const proc = startNode("the server", args, {
      env: {
        LOG_LEVEL: "warn",
        AUTO_MIGRATE: "true",
        SHUTDOWN_TIMEOUT_MS: "2000",
        WEB_DIR: "test/no-web-client",
        REDIS_URL: undefined,
        // As in testDeps: rate limits are tested on their own.
        RATE_LIMITS_ENABLED: "false",
        DEFAULT_WHO_MAY_ADD: "anyone",
        ...this.env,
        PORT: String(this.port),
        HOST: "127.0.0.1",
      },
    });
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!proc.running) throw new Error(`the server exited during start-up:\n${proc.tail()}`);
      if ((await healthStatus(`${this.url}/healthz`)) === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await proc.stop("SIGKILL");
    throw new Error(`the server was not healthy within ${timeoutMs} ms:\n${proc.tail()}`);
  }

  /** SIGTERM (graceful: feeds end with UNAVAILABLE) or SIGKILL (a crash). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }
}

/** A server process on a free port with its database at `databaseUrl`. */
export async function serverProcess(
  databaseUrl: string,
  env: Record<string, string | undefined> = {},
): Promise<ServerProcess> {
  const server = new ServerProcess(await freePort(), { DATABASE_URL: databaseUrl, ...env });
  await server.start();
  return server;
}

function healthStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** A server process on a free port with the env's database and, if it has Redis, its Redis prefix. */
export function envServerProcess(
  env: TestEnv,
  vars: Record<string, string | undefined> = {},
): Promise<ServerProcess> {
  const redis = env.redisUrl ? { REDIS_URL: env.redisUrl, REDIS_PREFIX: env.redisPrefix } : {};
  return serverProcess(env.databaseUrl, { ...redis, ...vars });
}

/**
 * The server under test as a separate process: `node --import tsx
 * server/main.ts` on a free loopback port with its own database, started
 * the way production starts it, so its CPU time and memory can be read
 * from /proc without the load generator in the same figures. The peer
 * servers start through the same {@link startProcess}
 * (bench/peers/peer-process.ts), so both are measured alike.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/private-services.js";
import { memoryMarker } from "./server-hooks.js";

/** Repository root (the server's working directory). */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** How to start the server. */
export interface ServerSpec {
  databaseUrl: string;
  /** Extra environment (FEED_*, ...), over the defaults set here. */
  env?: Record<string, string>;
  /** Node options before the script, e.g. `--cpu-prof`. */
  nodeOptions?: string[];
  /** Bound on start-up, migrations included. */
  readyTimeoutMs?: number;
  /** Port to listen on (a restart on the same port); default a free one. */
  port?: number;
  /** What counts as started (see {@link ProcessSpec.waitFor}). */
  waitFor?: "healthy" | "listening";
  /** Receives every output line (also those past the 1,000 kept). */
  onLine?: (line: string) => void;
}

/** The server's memory after a full GC (process.memoryUsage()), bytes. */
export interface ServerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Event-loop delay since the previous reading (server-hooks.ts). */
  loopDelayMs?: { p50: number; p99: number; max: number };
}

/** A running server process. */
export interface ServerProcess {
  pid: number;
  port: number;
  baseUrl: string;
  /** Resolves with the exit code (or signal name) when the process is gone. */
  exited: Promise<number | string>;
  /** Output lines seen so far (at LOG_LEVEL=warn: warnings and errors only). */
  output(): string[];
  /** Runs a full GC in the server and returns its memory (server-hooks.ts). */
  memory(): Promise<ServerMemory>;
  /** SIGTERM (graceful: writes a --cpu-prof profile), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the server and waits until `/healthz` answers 200. */
export function startServer(spec: ServerSpec): Promise<ServerProcess> {
  return startProcess({
    name: "the server",
    script: "server/main.ts",
    env: {
      DATABASE_URL: spec.databaseUrl,
      LOG_LEVEL: "warn",
      AUTO_MIGRATE: "true",
      SHUTDOWN_TIMEOUT_MS: "5000",
      WEB_DIR: "bench/no-web-client",
      ...spec.env,
      // One instance on the in-process broker unless the caller asks for Redis.
      REDIS_URL: spec.env?.REDIS_URL || undefined,
    },
    nodeOptions: spec.nodeOptions,
    readyTimeoutMs: spec.readyTimeoutMs ?? 120_000,
    stopGraceMs: 20_000,
    port: spec.port,
    waitFor: spec.waitFor,
    onLine: spec.onLine,
  });
}

/** How to start a measured process (our server or a peer server). */
export interface ProcessSpec {
  /** For messages, e.g. "the server", "the ws peer server". */
  name: string;
  /** Script to run, relative to the repository root. */
  script: string;
  /**
   * Environment over the parent's, PORT and HOST (so a caller may override
   * those); an `undefined` value removes the variable.
   */
  env?: Record<string, string | undefined>;
  /** Node options before the script, e.g. `--cpu-prof`. */
  nodeOptions?: string[];
  /** Bound on start-up. */
  readyTimeoutMs: number;
  /** Default grace period of `stop()` before SIGKILL. */
  stopGraceMs: number;
  /** Port to listen on; default a free one. */
  port?: number;
  /**
   * `healthy` (default): `/healthz` answers 200. `listening`: it answers at
   * all, 200 or not (a server started while a dependency is down).
   */
  waitFor?: "healthy" | "listening";
  /** Receives every output line as it arrives. */
  onLine?: (line: string) => void;
}

/**
 * Starts `node --expose-gc --import tsx --import ./bench/lib/server-hooks.ts
 * <script>` on a free loopback port and waits until `/healthz` answers 200;
 * on failure stops it and throws with the tail of its output. The same
 * start-up for our server and the peers, so their figures compare.
 */
export async function startProcess(spec: ProcessSpec): Promise<ServerProcess> {
  const port = spec.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    ...spec.env,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const args = [
    ...(spec.nodeOptions ?? []),
    "--expose-gc",
    "--import",
    "tsx",
    "--import",
    "./bench/lib/server-hooks.ts",
    spec.script,
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group: Ctrl-C reaches only the benchmark, whose cleanup
    // then stops the server gracefully (so a --cpu-prof profile is written).
    detached: true,
  });
  const lines: string[] = [];
  let onMemory: ((m: ServerMemory) => void) | undefined;
  /** Splits one output stream into lines; memory reports go to `onMemory`. */
  const collector = () => {
    let partial = "";
    return (chunk: Buffer) => {
      const all = (partial + chunk.toString("utf8")).split("\n");
      partial = all.pop() ?? "";
      for (const line of all) {
        spec.onLine?.(line);
        if (line.startsWith(memoryMarker)) onMemory?.(JSON.parse(line.slice(memoryMarker.length)));
        else if (line.trim() !== "" && lines.length < 1_000) lines.push(line);
      }
    };
  };
  child.stdout?.on("data", collector());
  child.stderr?.on("data", collector());
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}`);

  const server: ServerProcess = {
    pid: child.pid,
    port,
    baseUrl,
    exited,
    output: () => lines,
    memory: () =>
      new Promise<ServerMemory>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no memory report from ${spec.name}`)),
          10_000,
        );
        onMemory = (m) => {
          clearTimeout(timer);
          onMemory = undefined;
          resolve(m);
        };
        child.kill("SIGUSR2");
      }),
    stop: (graceMs = spec.stopGraceMs) => stop(child, exited, graceMs),
  };
  try {
    await waitHealthy(
      spec.name,
      baseUrl,
      exited,
      spec.readyTimeoutMs,
      spec.waitFor === "listening" ? (status) => status > 0 : (status) => status === 200,
    );
  } catch (err) {
    await server.stop(2_000);
    const tail = lines.slice(-20).join("\n");
    throw new Error(`${(err as Error).message}${tail ? `\noutput:\n${tail}` : ""}`);
  }
  return server;
}

async function stop(
  child: ChildProcess,
  exited: Promise<number | string>,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `/healthz` until `done(status)`; fails if the process exits or time runs out. */
async function waitHealthy(
  name: string,
  baseUrl: string,
  exited: Promise<number | string>,
  timeoutMs: number,
  done: (status: number) => boolean,
): Promise<void> {
  let gone: number | string | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`${name} exited during start-up (${gone})`);
    if (done(await healthStatus(`${baseUrl}/healthz`))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} was not healthy within ${timeoutMs} ms`);
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

/**
 * Server environment for `workers` processes on one port (WORKERS,
 * server/platform/process-cluster.ts): they share state through Redis
 * (BENCH_REDIS_URL, default redis://127.0.0.1:6379) under a prefix of the
 * run's own. One worker: nothing (in-process state).
 */
export function workersEnv(workers: number): Record<string, string> {
  if (workers <= 1) return {};
  return {
    WORKERS: String(workers),
    REDIS_URL: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `bench:${randomBytes(4).toString("hex")}:`,
  };
}

/**
 * What every scenario orchestrator with a server of ours shares (fanout,
 * sends, storm, resume, hold, hostile): a throwaway database, the real
 * server in its own process (server-process.ts), load generators in
 * others (loadgen-process.ts), a raised open-files limit, and cleanup on
 * success, failure and Ctrl-C (load generators, then server, then
 * database). What a run stores and prints is in report.ts.
 */
import { spawnSync } from "node:child_process";
import { Cleanup } from "./cleanup.js";
import { cpuProfileDir, profilesSince } from "./cpu-profile.js";
import { type BenchDatabase, benchDatabase } from "./database.js";
import { LoadgenProcess, type Typed } from "./loadgen-process.js";
import { type MachineInfo, machineInfo } from "./machine.js";
import { type FdLimit, fdLimit, raiseFdLimit } from "./proc.js";
import { repoRoot, type ServerProcess, startServer } from "./server-process.js";

/** How to run a scenario. */
export interface HarnessSpec {
  scenario: string;
  /** Server environment (FEED_*, ...). */
  serverEnv: Record<string, string>;
  /**
   * Open files the server and the load generator each need (connections
   * plus a margin); the limit is raised to it if possible, else a warning
   * says where the run will hit it.
   */
  fdLimit: number;
}

/** The running pieces. */
export interface Harness {
  readonly scenario: string;
  machine: MachineInfo;
  db: BenchDatabase;
  /** The server running now (the latest one after {@link restartServer}). */
  readonly server: ServerProcess;
  /** SERVER_NODE_OPTIONS, split. */
  serverNodeOptions: string[];
  cleanup: Cleanup;
  /** A progress line on stderr, prefixed with the scenario. */
  log(line: string): void;
  /** Ctrl-C / SIGTERM arrived: the cleanup is running, nothing is reported. */
  readonly interrupted: boolean;
  /**
   * Starts a load generator process (`name` for messages); stopped by the
   * cleanup if not before.
   */
  loadgen<Req extends Typed, Res extends Typed>(
    script: URL,
    o?: { nodeOptions?: string[]; name?: string },
  ): LoadgenProcess<Req, Res>;
  /**
   * Stops the server (graceful) and starts a fresh process on the same
   * database: a scenario whose parts must not share a server's garbage.
   */
  restartServer(): Promise<ServerProcess>;
  /** The server's facts for the record (call after {@link stopProcesses}). */
  serverInfo(): ServerInfo;
  /** Stops the load generators and the server (graceful), keeps the database for checks. */
  stopProcesses(): Promise<void>;
}

/** What is stored about the server (over all its processes, see {@link Harness.restartServer}). */
export interface ServerInfo {
  nodeOptions: string[];
  env: Record<string, string>;
  /** The first non-zero exit code or signal of its processes, else the last one's. */
  exitCode: number | string | undefined;
  /** Warning and error lines the server printed (LOG_LEVEL=warn). */
  logLines: number;
  /** The first few of them, cut at 300 characters. */
  logHead: string[];
  /** Open-files limit of the server process. */
  fdLimit: FdLimit;
  /** Open-files limit of the load generator. */
  loadgenFdLimit: FdLimit | undefined;
  /** V8 heap limit the server runs with (from its node options). */
  heapLimitMiB: number;
  /** `.cpuprofile` files the server wrote during the run (SERVER_NODE_OPTIONS=--cpu-prof). */
  cpuProfiles: string[];
  /** Set when the open-files limit could not be raised as wanted. */
  fdProblem?: string;
}

/**
 * Runs `body` with a server and database; cleans up whichever way it
 * ends. Ctrl-C / SIGTERM run the cleanup and exit 130 / 143.
 */
export async function withHarness<T>(
  spec: HarnessSpec,
  body: (h: Harness) => Promise<T>,
): Promise<T> {
  const cleanup = new Cleanup();
  const removeSignalHandlers = cleanup.onSignals();
  // After Ctrl-C the body may still see a late reply while the cleanup
  // runs: it is not reported, printed or stored.
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const log = (line: string) => {
    if (!interrupted) process.stderr.write(`[${spec.scenario}] ${line}\n`);
  };
  try {
    const machine = machineInfo(repoRoot);
    const startedAt = Date.now();
    // Inherited by the server and the load generators started below.
    const fd = raiseFdLimit(spec.fdLimit);
    if (fd.problem) {
      log(
        `warning: ${fd.problem}; runs that need more descriptors fail with EMFILE (a limit of this machine, not of the server)`,
      );
    }
    const db = benchDatabase();
    cleanup.add("drop database", async () => {
      await db.drop();
      process.stderr.write(`[${spec.scenario}] dropped database ${db.name}\n`);
    });
    const serverNodeOptions = (process.env.SERVER_NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean);
    const servers: ServerProcess[] = [];
    const exitCodes: (number | string)[] = [];
    const start = async () => {
      log(
        `starting the server (database ${db.name}${serverNodeOptions.length ? `, node ${serverNodeOptions.join(" ")}` : ""})`,
      );
      const s = await startServer({
        databaseUrl: db.url,
        env: spec.serverEnv,
        nodeOptions: serverNodeOptions,
      });
      servers.push(s);
      cleanup.add("stop server", () => s.stop());
      void s.exited.then((c) => exitCodes.push(c));
      return s;
    };
    let server = await start();
    const serverFd = fdLimit(server.pid);
    log(`server pid ${server.pid} on ${server.baseUrl} (open files ≤ ${serverFd.soft})`);
    const loadgens: LoadgenProcess<Typed, Typed>[] = [];
    let loadgenFd: FdLimit | undefined;
    const h: Harness = {
      scenario: spec.scenario,
      machine,
      db,
      get server() {
        return server;
      },
      serverNodeOptions,
      cleanup,
      log,
      get interrupted() {
        return interrupted;
      },
      loadgen<Req extends Typed, Res extends Typed>(
        script: URL,
        o: { nodeOptions?: string[]; name?: string } = {},
      ) {
        const l = new LoadgenProcess<Req, Res>(
          script,
          o.name ?? "load generator",
          o.nodeOptions ?? [],
          log,
        );
        loadgens.push(l as unknown as LoadgenProcess<Typed, Typed>);
        cleanup.add("stop load generator", () => l.stop());
        try {
          loadgenFd = fdLimit(l.pid);
        } catch {
          // exited already: the first request reports it
        }
        return l;
      },
      async restartServer() {
        await server.stop();
        await server.exited;
        server = await start();
        log(`server pid ${server.pid} on ${server.baseUrl}`);
        return server;
      },
      serverInfo() {
        const lines = servers.flatMap((s) => s.output());
        return {
          nodeOptions: serverNodeOptions,
          env: spec.serverEnv,
          exitCode: exitCodes.find((c) => c !== 0) ?? exitCodes.at(-1),
          logLines: lines.length,
          logHead: lines.slice(0, 5).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)),
          fdLimit: serverFd,
          loadgenFdLimit: loadgenFd,
          heapLimitMiB: heapLimitMiB(serverNodeOptions),
          cpuProfiles: serverNodeOptions.some((o) => o.startsWith("--cpu-prof"))
            ? profilesSince(cpuProfileDir(serverNodeOptions, repoRoot), startedAt)
            : [],
          ...(fd.problem ? { fdProblem: fd.problem } : {}),
        };
      },
      async stopProcesses() {
        for (const l of loadgens) await l.stop();
        await server.stop();
        await server.exited;
      },
    };
    return await body(h);
  } finally {
    removeSignalHandlers();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup.run();
  }
}

/**
 * Descriptors a process needs for `streams` streams: one connection each,
 * or one per `perSession` streams; plus a margin (database, listeners,
 * connections being replaced).
 */
export function streamDescriptors(
  streams: number,
  connectionPerStream: boolean,
  perSession: number,
): number {
  return (connectionPerStream ? streams : Math.ceil(streams / perSession)) + 2048;
}

/**
 * The harness of a feed scenario (storm, resume, hold) with `streams`
 * streams: the server allows the scenario's streams per user, and both
 * processes get descriptors for the streams' connections.
 */
export function feedHarnessSpec(
  scenario: string,
  streams: number,
  o: { protocol: string; perSession: number; streamsPerUser: number },
  serverEnv: Record<string, string> = {},
): HarnessSpec {
  return {
    scenario,
    serverEnv: { FEED_MAX_STREAMS_PER_USER: String(o.streamsPerUser), ...serverEnv },
    fdLimit: streamDescriptors(streams, o.protocol !== "grpc-h2-multi", o.perSession),
  };
}

/** The V8 heap limit a `node` with these options gets (MiB). */
function heapLimitMiB(nodeOptions: string[]): number {
  const heapOptions = nodeOptions.filter((o) => /^--max-(old|semi)-space-size/.test(o));
  const r = spawnSync(
    process.execPath,
    [
      ...heapOptions,
      "-e",
      "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))",
    ],
    { encoding: "utf8" },
  );
  return Math.round(Number(r.stdout) / 2 ** 20);
}

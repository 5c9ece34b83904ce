/**
 * What the sends, storm, resume and hold orchestrators share: a throwaway
 * database, the real server in its own process (bench/server-process.ts),
 * the load generator in another (bench/loadgen-process.ts), a raised
 * open-files limit, cleanup on success, failure and Ctrl-C (load
 * generator, then server, then database), and the stored record: one JSON
 * line in bench/results/<scenario>.jsonl with options, machine, git commit
 * and every figure, plus the table printed for people.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type BenchDatabase, benchDatabase } from "./bench-database.js";
import { Cleanup } from "./cleanup.js";
import type { LatencySummary } from "./histogram.js";
import { LoadgenProcess, type Typed } from "./loadgen-process.js";
import { loadAverage, type MachineInfo, machineInfo } from "./machine.js";
import { type FdLimit, fdLimit, raiseFdLimit } from "./proc-limits.js";
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
  machine: MachineInfo;
  db: BenchDatabase;
  server: ServerProcess;
  /** SERVER_NODE_OPTIONS, split. */
  serverNodeOptions: string[];
  cleanup: Cleanup;
  log(line: string): void;
  /** Ctrl-C / SIGTERM arrived: the cleanup is running, nothing is reported. */
  readonly interrupted: boolean;
  /** Starts a load generator process; stopped by the cleanup. */
  loadgen<Req extends Typed, Res extends Typed>(
    script: URL,
    nodeOptions?: string[],
  ): LoadgenProcess<Req, Res>;
  /** The server's facts for the record (call after `stopServer`). */
  serverInfo(): ServerInfo;
  /** Stops the load generators and the server (graceful), keeps the database for checks. */
  stopProcesses(): Promise<void>;
}

/** What is stored about the server. */
export interface ServerInfo {
  nodeOptions: string[];
  env: Record<string, string>;
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
  /** Set when the open-files limit could not be raised as wanted. */
  fdProblem?: string;
}

/** One stored run. */
export interface ScenarioRecord<O, R> {
  bench: string;
  /** Bumped when fields change meaning. */
  schema: 1;
  date: string;
  machine: MachineInfo;
  options: O;
  server: ServerInfo;
  result: R;
  /** Every check passed. */
  ok: boolean;
  /** What failed, one line each. */
  problems: string[];
  loadAverageAfter: number[];
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
    log(
      `starting the server (database ${db.name}${serverNodeOptions.length ? `, node ${serverNodeOptions.join(" ")}` : ""})`,
    );
    const server = await startServer({
      databaseUrl: db.url,
      env: spec.serverEnv,
      nodeOptions: serverNodeOptions,
    });
    cleanup.add("stop server", () => server.stop());
    const serverFd = fdLimit(server.pid);
    log(`server pid ${server.pid} on ${server.baseUrl} (open files ≤ ${serverFd.soft})`);
    const loadgens: LoadgenProcess<Typed, Typed>[] = [];
    let exitCode: number | string | undefined;
    void server.exited.then((c) => {
      exitCode = c;
    });
    const stopProcesses = async () => {
      for (const l of loadgens) await l.stop();
      await server.stop();
      exitCode = await server.exited;
    };
    let loadgenFd: FdLimit | undefined;
    const h: Harness = {
      machine,
      db,
      server,
      serverNodeOptions,
      cleanup,
      log,
      get interrupted() {
        return interrupted;
      },
      loadgen<Req extends Typed, Res extends Typed>(script: URL, nodeOptions: string[] = []) {
        const l = new LoadgenProcess<Req, Res>(script, "load generator", nodeOptions, log);
        loadgens.push(l as unknown as LoadgenProcess<Typed, Typed>);
        cleanup.add("stop load generator", () => l.stop());
        try {
          loadgenFd = fdLimit(l.pid);
        } catch {
          // exited already: the first request reports it
        }
        return l;
      },
      serverInfo() {
        const lines = server.output();
        return {
          nodeOptions: serverNodeOptions,
          env: spec.serverEnv,
          exitCode,
          logLines: lines.length,
          logHead: lines.slice(0, 5).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)),
          fdLimit: serverFd,
          loadgenFdLimit: loadgenFd,
          heapLimitMiB: heapLimitMiB(serverNodeOptions),
          ...(fd.problem ? { fdProblem: fd.problem } : {}),
        };
      },
      stopProcesses,
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

/** Builds the record (date, machine, load average now). */
export function makeRecord<O, R>(
  h: Harness,
  scenario: string,
  options: O,
  result: R,
  problems: string[],
): ScenarioRecord<O, R> {
  return {
    bench: scenario,
    schema: 1,
    date: h.machine.date,
    machine: h.machine,
    options,
    server: h.serverInfo(),
    result,
    ok: problems.length === 0,
    problems,
    loadAverageAfter: loadAverage(),
  };
}

/** Appends the record to bench/results/<scenario>.jsonl (`record.bench`); returns the file. */
export function appendResult(record: { bench: string }): string {
  const file = path.join(repoRoot, "bench", "results", `${record.bench}.jsonl`);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(
    file,
    `${JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`,
  );
  return file;
}

/**
 * Prints `before` (if any), the table and the server's warnings, stores
 * the record unless `save` is false, and sets exit code 1 if a check failed.
 */
export function finish(
  h: Harness,
  record: ScenarioRecord<unknown, unknown>,
  rows: [string, string][],
  save: boolean,
  before = "",
): void {
  if (h.interrupted) return;
  if (before) process.stdout.write(`\n${before}\n`);
  const r = record;
  const all: [string, string][] = [
    ...rows,
    ["checks", r.ok ? "OK" : `FAILED (${r.problems.length})`],
    ...r.problems.slice(0, 10).map((p): [string, string] => ["problem", p]),
    [
      "server",
      `exit ${r.server.exitCode ?? "?"}, ${r.server.logLines} warn+ log lines, heap limit ${r.server.heapLimitMiB} MiB, open files ≤ ${r.server.fdLimit.soft}`,
    ],
    [
      "machine",
      `${r.machine.cores} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.kernel}`,
    ],
    [
      "node / commit",
      `${r.machine.node} / ${r.machine.gitCommit.slice(0, 12)}${r.machine.gitDirty ? " (dirty)" : ""}`,
    ],
    [
      "load average before / after",
      `${r.machine.loadAverage.join(" ")} / ${r.loadAverageAfter.join(" ")}`,
    ],
    ["date", r.date],
  ];
  process.stdout.write(`\n${formatTable(all)}\n`);
  if (r.server.logHead.length > 0) {
    process.stdout.write(
      `\nserver output (first ${r.server.logHead.length} of ${r.server.logLines} lines):\n${r.server.logHead.join("\n")}\n`,
    );
  }
  if (save) h.log(`appended to ${appendResult(record)}`);
  if (!r.ok) process.exitCode = 1;
}

/** Two columns, keys padded. */
export function formatTable(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** Milliseconds, 2 decimals below 10. */
export const fmtMs = (v: number) =>
  Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)}` : "-";
/** Integer with thousands separators. */
export const fmtInt = (v: number) =>
  Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "-";
/** Bytes as MiB. */
export const fmtMiB = (bytes: number) =>
  Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : "-";
/** A latency summary on one line. */
export const fmtLatency = (l: LatencySummary) =>
  l.count === 0
    ? "no samples"
    : `p50 ${fmtMs(l.p50)}  p99 ${fmtMs(l.p99)}  p99.9 ${fmtMs(l.p999)}  max ${fmtMs(l.max)}  (n ${fmtInt(l.count)})`;
/** Counts by key, largest first: "Unavailable 3, timeout 1". */
export const fmtCounts = (c: Record<string, number>) => {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? "none" : e.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", ");
};

/** Seconds to wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

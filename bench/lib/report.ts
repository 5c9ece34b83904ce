/**
 * What a scenario run leaves behind: the table printed for people, and the
 * stored record, one JSON line in bench/results/<scenario>.jsonl with
 * options, machine, git commit, server settings and every figure, `ok`
 * and the list of `problems`. Also the number formats the tables share.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Harness, ServerInfo } from "./harness.js";
import type { LatencySummary } from "./histogram.js";
import { loadAverage, type MachineInfo } from "./machine.js";
import { repoRoot } from "./server-process.js";

/** One stored run. */
export interface ScenarioRecord<O, R> {
  bench: string;
  /** Bumped when fields change meaning. */
  schema: number;
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

/** Builds the record (date, machine, load average now); call after `h.stopProcesses()`. */
export function makeRecord<O, R>(
  h: Harness,
  options: O,
  result: R,
  problems: string[],
  schema = 1,
): ScenarioRecord<O, R> {
  return {
    bench: h.scenario,
    schema,
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

/** Text around the table: `before` it (e.g. a table per step) and `after` it (e.g. comparisons). */
export interface Around {
  before?: string;
  after?: string;
}

/**
 * Prints `before`, the table (the scenario's rows, then the checks, the
 * server, the machine and the date), `after` and the server's warnings,
 * stores the record unless `save` is false, and sets exit code 1 if a
 * check failed. Nothing after Ctrl-C.
 */
export function finish(
  h: Harness,
  record: ScenarioRecord<unknown, unknown>,
  rows: [string, string][],
  save: boolean,
  around: Around = {},
): void {
  if (h.interrupted) return;
  if (around.before) process.stdout.write(`\n${around.before}\n`);
  const r = record;
  const all: [string, string][] = [
    ...rows,
    ["checks", r.ok ? "OK" : `FAILED (${r.problems.length})`],
    ...r.problems.slice(0, 10).map((p): [string, string] => ["problem", p]),
    [
      "server",
      `exit ${r.server.exitCode ?? "?"}, ${r.server.logLines} warn+ log lines, heap limit ${r.server.heapLimitMiB} MiB, open files ≤ ${r.server.fdLimit.soft}`,
    ],
    ...r.server.cpuProfiles.map((p): [string, string] => ["server CPU profile", p]),
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
  if (around.after) process.stdout.write(`\n${around.after}\n`);
  if (r.server.logHead.length > 0) {
    process.stdout.write(
      `\nserver output (first ${r.server.logHead.length} of ${r.server.logLines} lines, cut at 300 characters):\n${r.server.logHead.join("\n")}\n`,
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

/**
 * Columns under a header, right-aligned (numbers) except those in `left`
 * (indexes; -1 is the last column); trailing spaces cut.
 */
export function formatColumns(head: string[], rows: string[][], left: number[] = []): string[] {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const isLeft = (i: number) => left.some((l) => l === i || l === i - head.length);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (isLeft(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)];
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
/** A latency summary with p95, without the count (fan-out's tables). */
export const fmtLatencyP95 = (l: LatencySummary) =>
  `p50 ${fmtMs(l.p50)}  p95 ${fmtMs(l.p95)}  p99 ${fmtMs(l.p99)}  p99.9 ${fmtMs(l.p999)}  max ${fmtMs(l.max)}`;
/** Counts by key, largest first: "Unavailable 3, timeout 1". */
export const fmtCounts = (c: Record<string, number>) => {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? "none" : e.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", ");
};

/**
 * Reading V8 `.cpuprofile` files written by the server under
 * `SERVER_NODE_OPTIONS=--cpu-prof`: self time per function and per source
 * file, optionally only within a time window (the publishing phase). The
 * profile's timestamps are CLOCK_MONOTONIC microseconds, the clock of
 * `process.hrtime`, so the orchestrator can mark the window from outside.
 *
 *   npm run bench -- profile <file.cpuprofile> [--from-us N --to-us N] [--top 25]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

/** The parts of the .cpuprofile format used here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or file. */
export interface ProfileEntry {
  name: string;
  ms: number;
  percent: number;
}

/** Where the time went. */
export interface ProfileSummary {
  /** Time sampled in the window. */
  sampledMs: number;
  /** Of it, time the thread was not idle (percentages below are of this). */
  busyMs: number;
  functions: ProfileEntry[];
  files: ProfileEntry[];
}

/** Current CLOCK_MONOTONIC time in µs, comparable with profile timestamps. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** `.cpuprofile` files in `dir` modified at or after `sinceMs` (epoch ms). */
export function profilesSince(dir: string, sinceMs: number): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(dir, f))
      .filter((f) => statSync(f).mtimeMs >= sinceMs);
  } catch {
    return [];
  }
}

/** The `--cpu-prof-dir` among node options, or `fallback`. */
export function cpuProfileDir(nodeOptions: string[], fallback: string): string {
  const i = nodeOptions.findIndex((o) => o.startsWith("--cpu-prof-dir"));
  const opt = nodeOptions[i];
  if (i < 0 || !opt) return fallback;
  const value = opt.includes("=") ? opt.slice(opt.indexOf("=") + 1) : nodeOptions[i + 1];
  return value ? path.resolve(fallback, value) : fallback;
}

/** Short name of a script URL: the part after node_modules/, else repo-relative. */
function fileLabel(url: string): string {
  if (url === "") return "(native / V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const cwd = `file://${process.cwd()}/`;
  return url.startsWith(cwd) ? url.slice(cwd.length) : url;
}

/** Self time per function and file within [fromUs, toUs] (whole profile by default). */
export function summarizeProfile(
  file: string,
  window: { fromUs?: number; toUs?: number } = {},
  top = 25,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let sampled = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (window.fromUs !== undefined && t < window.fromUs) continue;
    if (window.toUs !== undefined && t > window.toUs) break;
    const frame = byId.get(profile.samples[i] ?? -1);
    if (!frame) continue;
    sampled += us;
    if (frame.functionName === "(idle)") continue;
    const label = fileLabel(frame.url);
    const name = `${frame.functionName || "(anonymous)"} ${label}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    files.set(label, (files.get(label) ?? 0) + us);
    total += us;
  }
  const entries = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: total ? (100 * us) / total : 0 }));
  return {
    sampledMs: sampled / 1000,
    busyMs: total / 1000,
    functions: entries(fn),
    files: entries(files),
  };
}

/** Printable form of a summary. */
export function formatProfile(summary: ProfileSummary): string {
  const rows = (title: string, list: ProfileEntry[]) =>
    [
      `${title}`,
      ...list.map(
        (e) =>
          `  ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`,
      ),
    ].join("\n");
  return [
    `sampled ${summary.sampledMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms (percentages of busy time)`,
    rows("self time by file:", summary.files),
    rows("self time by function:", summary.functions),
  ].join("\n");
}

/** `npm run bench -- profile <file> [--from-us N] [--to-us N] [--top N]`. */
export function profileCommand(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "from-us": { type: "string" },
      "to-us": { type: "string" },
      top: { type: "string", default: "25" },
    },
  });
  const file = positionals[0];
  if (!file)
    throw new Error(
      "usage: npm run bench -- profile <file.cpuprofile> [--from-us N --to-us N] [--top N]",
    );
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const summary = summarizeProfile(
    file,
    { fromUs: num(values["from-us"]), toUs: num(values["to-us"]) },
    Number(values.top),
  );
  process.stdout.write(`${formatProfile(summary)}\n`);
}

/**
 * The outcome of a chaos run for people and for the record: one summary
 * line, a short table, and one JSON line appended to
 * bench/results/chaos.jsonl (options, machine, git commit, every figure).
 */
import { loadAverage, type MachineInfo } from "../lib/machine.js";
import { appendResult, formatTable } from "../lib/report.js";
import type { ChaosOptions } from "./options.js";
import type { Anomalies, ChaosResult } from "./run-chaos.js";

/** One stored run. */
export interface ChaosRecord {
  bench: "chaos";
  /** Bumped when fields change meaning. */
  schema: 1;
  date: string;
  machine: MachineInfo;
  options: ChaosOptions;
  summary: string;
  ok: boolean;
  /** What failed, one line each. */
  problems: string[];
  result: ChaosResult;
  loadAverageAfter: number[];
}

/** Names of the anomaly counts in the summary line. */
const anomalyNames: [keyof Anomalies, string][] = [
  ["lost", "lost"],
  ["duplicated", "duplicated"],
  ["reordered", "reordered"],
  ["stuck", "stuck"],
  ["wrong", "wrong"],
  ["badCodes", "bad-codes"],
];

/** True when every anomaly count is zero. */
export function isClean(a: Anomalies): boolean {
  return anomalyNames.every(([k]) => a[k] === 0);
}

/**
 * `chaos OK: lost 0, duplicated 0, ... | back to live p50/p99 ms: kill9
 * 180/950, ... | 21,034 acked, ...`
 */
export function summaryLine(r: ChaosResult): string {
  const a = r.anomalies;
  const counts = anomalyNames.map(([k, name]) => `${name} ${a[k]}`).join(", ");
  const live = r.faults
    .map((f) => {
      const b = f.backToLive;
      const notes = [
        ...(b.notLive > 0 ? [`${b.notLive} not live`] : []),
        ...(overTarget(f) ? [`over ${b.targetMs}`] : []),
        ...(f.stall ? [`stall ${f.stall.p50Ms ?? "-"}/${f.stall.p99Ms ?? "-"}`] : []),
      ];
      return `${f.name} ${b.p50Ms ?? "-"}/${b.p99Ms ?? "-"}${notes.length ? ` (${notes.join(", ")})` : ""}`;
    })
    .join(", ");
  const int = (v: number) => v.toLocaleString("en-US");
  return (
    `chaos ${isClean(a) ? "OK" : "FAILED"}: ${counts} | back to live p50/p99 ms: ${live || "no faults"} | ` +
    `${int(r.senders.acked)} messages acked, ${int(r.subscribers.roomEvents)} events delivered, ` +
    `${int(r.subscribers.attempts)} subscribes, ${int(r.subscribers.resets)} resets, ` +
    `${int(r.senders.retries)} send retries | ${r.totalS} s, seed ${r.seed}`
  );
}

/** True when the fault's back-to-live p99 exceeds its target (reported, never failed). */
export function overTarget(f: ChaosResult["faults"][number]): boolean {
  const b = f.backToLive;
  return b.targetMs !== undefined && b.p99Ms !== null && b.p99Ms > b.targetMs;
}

/** Every problem worth a line: non-zero anomalies with their first examples. */
export function problemsOf(r: ChaosResult): string[] {
  const p: string[] = [];
  const a = r.anomalies;
  for (const [k, name] of anomalyNames) if (a[k] > 0) p.push(`${name}: ${a[k]}`);
  if (isClean(a)) return p;
  p.push(...r.verification.problems.slice(0, 15));
  p.push(...r.subscribers.stuckExamples.map((s) => `stuck ${s}`));
  p.push(...r.senders.stuckExamples.map((s) => `stuck ${s}`));
  for (const [k, n] of Object.entries(r.failures.badCounts)) p.push(`bad code ×${n}: ${k}`);
  p.push(...r.subscriberProblems.slice(0, 15));
  return p;
}

/** A table for people (after the run's own log lines). */
export function formatResult(r: ChaosResult): string {
  const v = r.verification;
  const s = r.subscribers;
  const rows: [string, string][] = [
    [
      "database",
      `${v.database.rooms} rooms, ${v.database.events} events; holes in ${v.database.roomsWithHoles} rooms, ` +
        `${v.database.acks} acks checked: ${v.database.ackedMissing} missing, ${v.database.ackedMismatch} differ, ` +
        `${v.database.storedTwice} stored twice, ${v.database.storedUnacked} stored but not acked`,
    ],
    [
      "subscriber views",
      `${v.views.compared} events compared: ${v.views.missing} missing, ${v.views.mismatched} differ, ` +
        `${v.views.behind} behind at the end, ${v.views.subscribersWrong} subscribers wrong`,
    ],
    [
      "subscribers",
      `${s.attempts} subscribes, ${s.readies} ready, ${s.breaks} breaks, ${s.voluntaryDrops} voluntary drops, ` +
        `${s.readyTimeouts} ready timeouts, ${s.idleTimeouts} idle timeouts, ${s.resets} resets ` +
        `(${s.reloadedEvents} events reloaded in ${s.reloadCalls} calls), ${s.duplicates} duplicates, ${s.ahead} out of order`,
    ],
    [
      "senders",
      `${r.senders.started} started, ${r.senders.acked} acked (${r.senders.rate.toFixed(1)}/s), ` +
        `${r.senders.retries} retries, ${r.senders.duplicateAcks} acked as duplicate of an earlier attempt, ${r.senders.stuck} stuck`,
    ],
    ...r.faults.map((f): [string, string] => {
      const b = f.backToLive;
      return [
        `fault ${f.name}${f.target ? ` (${f.target})` : ""}`,
        `at ${f.atS} s, recovered after ${(f.recoveredAfterMs / 1000).toFixed(1)} s; back to live ` +
          `${b.live}/${b.measured}: p50 ${b.p50Ms ?? "-"} ms, p99 ${b.p99Ms ?? "-"} ms, max ${b.maxMs ?? "-"} ms; ` +
          (f.stall
            ? `stall ${f.stall.live}/${f.stall.measured}: p50 ${f.stall.p50Ms ?? "-"} ms, p99 ${f.stall.p99Ms ?? "-"} ms; `
            : "") +
          `${f.subscribeCalls} subscribes, ${f.sendFailures} failed send attempts, no ack for ${(f.sendStallMs / 1000).toFixed(1)} s at most`,
      ];
    }),
    [
      "client errors",
      Object.entries(r.failures.counts)
        .sort((x, y) => y[1] - x[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(", ") || "none",
    ],
    ...r.servers.map((x): [string, string] => [
      `instance ${x.name}`,
      `${x.starts} starts, ${x.warnLines} warn/error lines`,
    ]),
    ["logs", r.logDir],
  ];
  return formatTable(rows);
}

/** Builds the stored record. */
export function makeChaosRecord(
  machine: MachineInfo,
  options: ChaosOptions,
  result: ChaosResult,
): ChaosRecord {
  return {
    bench: "chaos",
    schema: 1,
    date: machine.date,
    machine,
    options,
    summary: summaryLine(result),
    ok: isClean(result.anomalies),
    problems: problemsOf(result),
    result,
    loadAverageAfter: loadAverage(),
  };
}

/** Appends the record to bench/results/chaos.jsonl; returns the file. */
export function saveChaosRecord(record: ChaosRecord): string {
  return appendResult(record);
}

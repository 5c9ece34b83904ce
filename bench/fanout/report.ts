/**
 * A fan-out result: the record appended as one JSON line to
 * bench/results/fanout.jsonl (lib/report.ts, with the fan-out's setup and
 * its peers), the rows of the printed table, and the comparison with the
 * peers printed after it.
 */
import type { ServerInfo } from "../lib/harness.js";
import type { LatencySummary } from "../lib/histogram.js";
import {
  fmtInt,
  fmtLatencyP95,
  fmtMiB,
  fmtMs,
  formatColumns,
  type ScenarioRecord,
} from "../lib/report.js";
import type { ServerMemory } from "../lib/server-process.js";
import type { PeerName } from "../peers/peers.js";
import type { DeliveryCheck } from "./ipc.js";
import type { FanoutOptions } from "./options.js";

/** How a measured server was set up. */
export interface FanoutSetup {
  users: number;
  rooms: number;
  /** Seconds to open every stream and receive every `ready`. */
  openSeconds: number;
  /** Connections or HTTP/2 sessions the client created for the streams. */
  clientConnections: number;
  /** Established TCP connections at the server port (streams + publisher). */
  serverConnections: number;
}

/** What was measured on one server, ours or a peer. */
export interface FanoutResult extends DeliveryCheck {
  messagesSent: number;
  sendErrors: number;
  firstSendError?: string;
  sendsSkipped: number;
  /** Achieved messages per second. */
  sendRate: number;
  /**
   * Every subscriber got exactly the acknowledged messages of its room,
   * once each, in order (send errors are reported separately).
   */
  lossless: boolean;
  deliveriesPerSecond: number;
  /** Send (before SendMessage) to receipt. */
  latencyMs: LatencySummary;
  /** First receipt of a message by any subscriber to this receipt: the fan-out alone. */
  fanoutSpreadMs: LatencySummary;
  sendRoundTripMs: LatencySummary;
  serverCpuSeconds: number;
  serverCpuPer100kDeliveries: number;
  /** Server CPU seconds per wall second over the window (1 = one core busy). */
  serverCpuCores: number;
  clientCpuSeconds: number;
  clientCpuCores: number;
  windowSeconds: number;
  /** Server memory after a full GC: before opening streams, after, after the run. */
  serverMemoryBeforeStreams: ServerMemory;
  serverMemoryAfterStreams: ServerMemory;
  serverMemoryAfterRun: ServerMemory;
  /** (RSS after opening - before) / subscribers, KiB. */
  rssPerIdleStreamKiB: number;
  /** (V8 heap used after opening - before) / subscribers, KiB. */
  heapPerIdleStreamKiB: number;
}

/**
 * A peer server measured in the same run as ours (bench/peers/), with the
 * same options; `setup` and `result` mean what they mean for ours (peers
 * have no accounts: `users` is 0; "streams" are WebSocket subscribers).
 */
export interface PeerRecord {
  peer: PeerName;
  /** E.g. "socket.io room". */
  label: string;
  /** Version of the peer's npm package. */
  version: string;
  /** Set when the peer could not be measured; then there is no result. */
  error?: string;
  server?: { logLines: number; exitCode: number | string };
  setup?: FanoutSetup;
  result?: FanoutResult;
}

/**
 * One fan-out run, as stored: the common record (options, machine,
 * server, result of ours, checks) plus the setup and the peers. Records
 * from before the shared harness have no `ok`, `problems`, and of
 * `server` only `nodeOptions`, `env`, `logLines`, `exitCode`,
 * `cpuProfiles` and `publishWindowUs`; records from before `--client` no
 * `options.client` (they used the SDK), from before peers no `peers`.
 */
export interface FanoutRecord extends ScenarioRecord<FanoutOptions, FanoutResult> {
  server: ServerInfo & {
    /** Publishing window in CLOCK_MONOTONIC µs, for `bench profile --from-us/--to-us`. */
    publishWindowUs: [number, number];
  };
  setup: FanoutSetup;
  peers: PeerRecord[];
}

/** What failed on one server: lost or doubled deliveries, failed or skipped sends. */
export function problemsOf(name: string, x: FanoutResult): string[] {
  const p: string[] = [];
  if (!x.lossless) {
    p.push(
      `${name}: ${x.subscribersWrong} subscribers wrong (duplicates ${x.duplicates}, gaps ${x.gaps}, stream errors ${x.streamErrors}${x.drainTimedOut ? ", drain timed out" : ""})`,
    );
  }
  if (x.sendErrors > 0)
    p.push(`${name}: ${x.sendErrors} sends failed (${x.firstSendError ?? "?"})`);
  if (x.sendsSkipped > 0) p.push(`${name}: ${x.sendsSkipped} sends skipped (too many in flight)`);
  return p;
}

/** The rows of our server's figures (the shared footer follows them). */
export function fanoutRows(r: FanoutRecord): [string, string][] {
  const o = r.options;
  const x = r.result;
  const rows: [string, string][] = [
    ["protocol", o.protocol],
    ["subscriber client", o.client],
    [
      "server processes",
      (o.workers ?? 1) > 1
        ? `${o.workers} (WORKERS, Redis broker; CPU of all, memory rows of the primary only)`
        : "1",
    ],
    ["subscribers / rooms", `${fmtInt(o.subscribers)} / ${o.rooms}`],
    [
      "mode",
      o.rate > 0
        ? `fixed rate ${o.rate} msg/s for ${o.durationS} s`
        : `saturation for ${o.durationS} s (concurrency ${o.concurrency}, max lag ${o.maxLag || "none"})`,
    ],
    [
      "messages sent",
      `${fmtInt(x.messagesSent)} (${x.sendRate.toFixed(1)}/s; errors ${x.sendErrors}, skipped ${x.sendsSkipped})`,
    ],
    [
      "deliveries expected / received",
      `${fmtInt(x.deliveriesExpected)} / ${fmtInt(x.deliveriesReceived)}`,
    ],
    [
      "verification",
      x.lossless
        ? "OK: every subscriber got every acknowledged message of its room once, in order"
        : `FAILED: ${x.subscribersWrong} subscribers wrong (duplicates ${x.duplicates}, gaps ${x.gaps}, stream errors ${x.streamErrors}${x.drainTimedOut ? ", drain timed out" : ""})`,
    ],
    ["deliveries/s", fmtInt(x.deliveriesPerSecond)],
    ["latency ms (send → receipt)", fmtLatencyP95(x.latencyMs)],
    ["fan-out spread ms (first → each receipt)", fmtLatencyP95(x.fanoutSpreadMs)],
    ["SendMessage round trip ms", fmtLatencyP95(x.sendRoundTripMs)],
    ["server CPU s / 100k deliveries", x.serverCpuPer100kDeliveries.toFixed(2)],
    [
      "server CPU (cores busy)",
      `${x.serverCpuSeconds.toFixed(2)} s over ${x.windowSeconds.toFixed(1)} s = ${x.serverCpuCores.toFixed(2)}`,
    ],
    [
      "load generator CPU (cores busy)",
      `${x.clientCpuSeconds.toFixed(2)} s = ${x.clientCpuCores.toFixed(2)}, ${x.deliveriesReceived > 0 ? ((x.clientCpuSeconds * 1e6) / x.deliveriesReceived).toFixed(1) : "-"} µs per delivery received`,
    ],
    ["server event-loop delay ms", fmtLoopDelay(x.serverMemoryAfterRun)],
    [
      "server RSS before / after streams / end",
      `${fmtMiB(x.serverMemoryBeforeStreams.rss)} / ${fmtMiB(x.serverMemoryAfterStreams.rss)} / ${fmtMiB(x.serverMemoryAfterRun.rss)} (after full GC)`,
    ],
    [
      "server heap before / after streams / end",
      `${fmtMiB(x.serverMemoryBeforeStreams.heapUsed)} / ${fmtMiB(x.serverMemoryAfterStreams.heapUsed)} / ${fmtMiB(x.serverMemoryAfterRun.heapUsed)}`,
    ],
    [
      "per idle stream: RSS / V8 heap",
      `${x.rssPerIdleStreamKiB.toFixed(1)} KiB / ${x.heapPerIdleStreamKiB.toFixed(1)} KiB`,
    ],
    [
      "connections client / server",
      `${fmtInt(r.setup.clientConnections)} / ${fmtInt(r.setup.serverConnections)} (open ${r.setup.openSeconds.toFixed(1)} s)`,
    ],
    ["other events", fmtInt(x.otherEvents)],
  ];
  if (x.firstSendError) rows.push(["first send error", x.firstSendError]);
  for (const w of x.wrongExamples) rows.push(["wrong subscriber", w]);
  return rows;
}

/**
 * `ours / peer` as "1.23×"; "-" when either is missing or not positive (a
 * negative RSS difference is allocator noise, not a figure to divide).
 */
function ratio(ours: number, peer: number | undefined): string {
  if (peer === undefined || !(ours > 0) || !(peer > 0)) return "-";
  const q = ours / peer;
  return `${q < 10 ? q.toFixed(2) : q.toFixed(1)}×`;
}

/** The figures compared with the peers, in column order. */
const compared: {
  head: string;
  of: (x: FanoutResult) => number;
  fmt: (v: number) => string;
}[] = [
  { head: "deliveries/s", of: (x) => x.deliveriesPerSecond, fmt: fmtInt },
  { head: "p50 ms", of: (x) => x.latencyMs.p50, fmt: fmtMs },
  { head: "p95 ms", of: (x) => x.latencyMs.p95, fmt: fmtMs },
  { head: "p99 ms", of: (x) => x.latencyMs.p99, fmt: fmtMs },
  { head: "p99.9 ms", of: (x) => x.latencyMs.p999, fmt: fmtMs },
  { head: "CPU s/100k", of: (x) => x.serverCpuPer100kDeliveries, fmt: (v) => v.toFixed(2) },
  { head: "RSS KiB/conn", of: (x) => x.rssPerIdleStreamKiB, fmt: (v) => v.toFixed(1) },
  // The load generator (its own client per server): near 1 core, it was the limit.
  { head: "LG cores", of: (x) => x.clientCpuCores, fmt: (v) => v.toFixed(2) },
  {
    head: "LG µs/delivery",
    of: (x) =>
      x.deliveriesReceived > 0 ? (x.clientCpuSeconds * 1e6) / x.deliveriesReceived : Number.NaN,
    fmt: (v) => v.toFixed(1),
  },
];

function verdict(x: FanoutResult): string {
  return problemsOf("", x).length === 0 ? "OK" : "FAILED";
}

/**
 * Ours next to every peer of the run: one row per server, and under each
 * peer the ratio ours ÷ peer of every figure; then a line per peer with
 * its load, checks and connections.
 */
export function formatComparison(r: FanoutRecord): string {
  const x = r.result;
  const head = ["server", ...compared.map((c) => c.head), "check"];
  const rows: string[][] = [
    [
      `protochat ${r.options.protocol} (${r.options.client})`,
      ...compared.map((c) => c.fmt(c.of(x))),
      verdict(x),
    ],
  ];
  const details: string[] = [];
  for (const p of r.peers) {
    const name = `${p.label} ${p.version}`;
    const y = p.result;
    if (!y) {
      rows.push([name, ...compared.map(() => "-"), "FAILED"]);
      details.push(`${name}: FAILED: ${(p.error ?? "no result").split("\n")[0]}`);
      continue;
    }
    rows.push([name, ...compared.map((c) => c.fmt(c.of(y))), verdict(y)]);
    rows.push([`  ours ÷ ${p.label}`, ...compared.map((c) => ratio(c.of(x), c.of(y))), ""]);
    const s = p.setup;
    details.push(
      `${name}: sent ${fmtInt(y.messagesSent)} (${y.sendRate.toFixed(1)}/s; errors ${y.sendErrors}, skipped ${y.sendsSkipped}), ` +
        `delivered ${fmtInt(y.deliveriesReceived)}/${fmtInt(y.deliveriesExpected)}` +
        (y.lossless
          ? ", each once, in order"
          : ` (${y.subscribersWrong} subscribers wrong: duplicates ${y.duplicates}, gaps ${y.gaps}, errors ${y.streamErrors}${y.drainTimedOut ? ", drain timed out" : ""})`),
      `  fan-out spread ms p50 ${fmtMs(y.fanoutSpreadMs.p50)} p99 ${fmtMs(y.fanoutSpreadMs.p99)}; ` +
        `publish acknowledged ms p50 ${fmtMs(y.sendRoundTripMs.p50)} p99 ${fmtMs(y.sendRoundTripMs.p99)}; ` +
        `cores busy: server ${y.serverCpuCores.toFixed(2)}, load generator ${y.clientCpuCores.toFixed(2)}; ` +
        `server event-loop delay ms ${fmtLoopDelay(y.serverMemoryAfterRun)}`,
      `  server RSS before / after subscribers / end ${fmtMiB(y.serverMemoryBeforeStreams.rss)} / ` +
        `${fmtMiB(y.serverMemoryAfterStreams.rss)} / ${fmtMiB(y.serverMemoryAfterRun.rss)}` +
        (s
          ? `; connections client / server ${fmtInt(s.clientConnections)} / ${fmtInt(s.serverConnections)} (open ${s.openSeconds.toFixed(1)} s)`
          : ""),
    );
    if (y.firstSendError) details.push(`  first send error: ${y.firstSendError}`);
    for (const w of y.wrongExamples) details.push(`  wrong subscriber: ${w}`);
  }
  return [
    `peers, same run and load: ${fmtInt(r.options.subscribers)} subscribers in ${r.options.rooms} room(s), ` +
      `${r.options.size}-byte text, ${r.options.rate > 0 ? `${r.options.rate} msg/s` : "saturation"}; ` +
      "one server process each; latency = send → receipt",
    "ratio = ours ÷ peer (deliveries/s: higher is better; latency, CPU, RSS: lower is better); LG = load generator CPU",
    ...formatColumns(head, rows, [0, -1]),
    "",
    ...details,
  ].join("\n");
}

/** Event-loop delay of the publishing window (server-hooks.ts), p50 / p99 / max. */
function fmtLoopDelay(m: ServerMemory): string {
  const d = m.loopDelayMs;
  return d ? `p50 ${fmtMs(d.p50)}  p99 ${fmtMs(d.p99)}  max ${fmtMs(d.max)} (publishing)` : "-";
}

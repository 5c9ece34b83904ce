/**
 * A fan-out result: the record appended as one JSON line to
 * bench/results/fanout.jsonl, and the table printed for people.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { FanoutOptions } from "./fanout-options.js";
import type { LatencySummary } from "./histogram.js";
import type { MachineInfo } from "./machine.js";
import type { PeerName } from "./peers/peers.js";
import type { ServerMemory } from "./server-process.js";

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
  setup?: FanoutRecord["setup"];
  result?: FanoutRecord["result"];
}

/** One fan-out run, as stored. */
export interface FanoutRecord {
  bench: "fanout";
  /** Bumped when fields change meaning. */
  schema: 1;
  date: string;
  machine: MachineInfo;
  /** `client` is absent in records from before `--client` existed: those used the SDK. */
  options: Omit<FanoutOptions, "client"> & Partial<Pick<FanoutOptions, "client">>;
  server: {
    nodeOptions: string[];
    env: Record<string, string>;
    /** Warning/error lines the server logged (LOG_LEVEL=warn). */
    logLines: number;
    exitCode: number | string;
    cpuProfiles: string[];
    /** Publishing window in CLOCK_MONOTONIC µs, for `bench profile --from-us/--to-us`. */
    publishWindowUs: [number, number];
  };
  setup: {
    users: number;
    rooms: number;
    /** Seconds to open every stream and receive every `ready`. */
    openSeconds: number;
    /** Connections or HTTP/2 sessions the client created for the streams. */
    clientConnections: number;
    /** Established TCP connections at the server port (streams + publisher). */
    serverConnections: number;
  };
  result: {
    messagesSent: number;
    sendErrors: number;
    firstSendError?: string;
    sendsSkipped: number;
    /** Achieved messages per second. */
    sendRate: number;
    deliveriesExpected: number;
    deliveriesReceived: number;
    duplicates: number;
    gaps: number;
    streamErrors: number;
    subscribersWrong: number;
    wrongExamples: string[];
    drainTimedOut: boolean;
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
    otherEvents: number;
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
  };
  /** Peers measured after ours in the same run (absent in records before peers existed). */
  peers?: PeerRecord[];
  loadAverageAfter: number[];
}

/** Where results accumulate. */
export const resultsFile = path.join("bench", "results", "fanout.jsonl");

/** Appends the record as one JSON line. */
export function appendRecord(repoRoot: string, record: FanoutRecord): string {
  const file = path.join(repoRoot, resultsFile);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(record)}\n`);
  return file;
}

const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)}` : "-");
const int = (v: number) => Math.round(v).toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The client code of our subscribers (bench/README.md ("Subscriber client")); records from
 * before `--client` existed used the SDK.
 */
function clientOf(r: FanoutRecord): string {
  return r.options.client ?? "sdk";
}

/** The record as a two-column table. */
export function formatRecord(r: FanoutRecord): string {
  const o = r.options;
  const x = r.result;
  const lat = (l: LatencySummary) =>
    `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}`;
  const rows: [string, string][] = [
    ["protocol", o.protocol],
    ["subscriber client", clientOf(r)],
    ["subscribers / rooms", `${int(o.subscribers)} / ${o.rooms}`],
    [
      "mode",
      o.rate > 0
        ? `fixed rate ${o.rate} msg/s for ${o.durationS} s`
        : `saturation for ${o.durationS} s (concurrency ${o.concurrency}, max lag ${o.maxLag || "none"})`,
    ],
    [
      "messages sent",
      `${int(x.messagesSent)} (${x.sendRate.toFixed(1)}/s; errors ${x.sendErrors}, skipped ${x.sendsSkipped})`,
    ],
    [
      "deliveries expected / received",
      `${int(x.deliveriesExpected)} / ${int(x.deliveriesReceived)}`,
    ],
    [
      "verification",
      x.lossless
        ? "OK: every subscriber got every acknowledged message of its room once, in order"
        : `FAILED: ${x.subscribersWrong} subscribers wrong (duplicates ${x.duplicates}, gaps ${x.gaps}, stream errors ${x.streamErrors}${x.drainTimedOut ? ", drain timed out" : ""})`,
    ],
    ["deliveries/s", int(x.deliveriesPerSecond)],
    ["latency ms (send → receipt)", lat(x.latencyMs)],
    ["fan-out spread ms (first → each receipt)", lat(x.fanoutSpreadMs)],
    ["SendMessage round trip ms", lat(x.sendRoundTripMs)],
    ["server CPU s / 100k deliveries", x.serverCpuPer100kDeliveries.toFixed(2)],
    [
      "server CPU (cores busy)",
      `${x.serverCpuSeconds.toFixed(2)} s over ${x.windowSeconds.toFixed(1)} s = ${x.serverCpuCores.toFixed(2)}`,
    ],
    [
      "load generator CPU (cores busy)",
      `${x.clientCpuSeconds.toFixed(2)} s = ${x.clientCpuCores.toFixed(2)}`,
    ],
    [
      "server RSS before / after streams / end",
      `${mib(x.serverMemoryBeforeStreams.rss)} / ${mib(x.serverMemoryAfterStreams.rss)} / ${mib(x.serverMemoryAfterRun.rss)} (after full GC)`,
    ],
    [
      "server heap before / after streams / end",
      `${mib(x.serverMemoryBeforeStreams.heapUsed)} / ${mib(x.serverMemoryAfterStreams.heapUsed)} / ${mib(x.serverMemoryAfterRun.heapUsed)}`,
    ],
    [
      "per idle stream: RSS / V8 heap",
      `${x.rssPerIdleStreamKiB.toFixed(1)} KiB / ${x.heapPerIdleStreamKiB.toFixed(1)} KiB`,
    ],
    [
      "connections client / server",
      `${int(r.setup.clientConnections)} / ${int(r.setup.serverConnections)} (open ${r.setup.openSeconds.toFixed(1)} s)`,
    ],
    ["other events", int(x.otherEvents)],
    ["server log lines (warn+)", String(r.server.logLines)],
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
  if (x.firstSendError) rows.push(["first send error", x.firstSendError]);
  for (const w of x.wrongExamples) rows.push(["wrong subscriber", w]);
  for (const p of r.server.cpuProfiles) rows.push(["server CPU profile", p]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const table = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
  return r.peers && r.peers.length > 0 ? `${table}\n\n${formatComparison(r)}` : table;
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
  of: (x: FanoutRecord["result"]) => number;
  fmt: (v: number) => string;
}[] = [
  { head: "deliveries/s", of: (x) => x.deliveriesPerSecond, fmt: int },
  { head: "p50 ms", of: (x) => x.latencyMs.p50, fmt: ms },
  { head: "p95 ms", of: (x) => x.latencyMs.p95, fmt: ms },
  { head: "p99 ms", of: (x) => x.latencyMs.p99, fmt: ms },
  { head: "p99.9 ms", of: (x) => x.latencyMs.p999, fmt: ms },
  { head: "CPU s/100k", of: (x) => x.serverCpuPer100kDeliveries, fmt: (v) => v.toFixed(2) },
  { head: "RSS KiB/conn", of: (x) => x.rssPerIdleStreamKiB, fmt: (v) => v.toFixed(1) },
];

function verdict(x: FanoutRecord["result"]): string {
  return x.lossless && x.sendErrors === 0 && x.sendsSkipped === 0 ? "OK" : "FAILED";
}

/**
 * Ours next to every peer of the run: one row per server, and under each
 * peer the ratio ours ÷ peer of every figure; then a line per peer with
 * its load, checks and connections.
 */
export function formatComparison(r: FanoutRecord): string {
  const peers = r.peers ?? [];
  const x = r.result;
  const head = ["server", ...compared.map((c) => c.head), "check"];
  const rows: string[][] = [
    [
      `protochat ${r.options.protocol} (${clientOf(r)})`,
      ...compared.map((c) => c.fmt(c.of(x))),
      verdict(x),
    ],
  ];
  const details: string[] = [];
  for (const p of peers) {
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
      `${name}: sent ${int(y.messagesSent)} (${y.sendRate.toFixed(1)}/s; errors ${y.sendErrors}, skipped ${y.sendsSkipped}), ` +
        `delivered ${int(y.deliveriesReceived)}/${int(y.deliveriesExpected)}` +
        (y.lossless
          ? ", each once, in order"
          : ` (${y.subscribersWrong} subscribers wrong: duplicates ${y.duplicates}, gaps ${y.gaps}, errors ${y.streamErrors}${y.drainTimedOut ? ", drain timed out" : ""})`),
      `  fan-out spread ms p50 ${ms(y.fanoutSpreadMs.p50)} p99 ${ms(y.fanoutSpreadMs.p99)}; ` +
        `publish acknowledged ms p50 ${ms(y.sendRoundTripMs.p50)} p99 ${ms(y.sendRoundTripMs.p99)}; ` +
        `cores busy: server ${y.serverCpuCores.toFixed(2)}, load generator ${y.clientCpuCores.toFixed(2)}`,
      `  server RSS before / after subscribers / end ${mib(y.serverMemoryBeforeStreams.rss)} / ` +
        `${mib(y.serverMemoryAfterStreams.rss)} / ${mib(y.serverMemoryAfterRun.rss)}` +
        (s
          ? `; connections client / server ${int(s.clientConnections)} / ${int(s.serverConnections)} (open ${s.openSeconds.toFixed(1)} s)`
          : ""),
    );
    if (y.firstSendError) details.push(`  first send error: ${y.firstSendError}`);
    for (const w of y.wrongExamples) details.push(`  wrong subscriber: ${w}`);
  }
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [
    `peers, same run and load: ${int(r.options.subscribers)} subscribers in ${r.options.rooms} room(s), ` +
      `${r.options.size}-byte text, ${r.options.rate > 0 ? `${r.options.rate} msg/s` : "saturation"}; ` +
      "one server process each; latency = send → receipt",
    "ratio = ours ÷ peer (deliveries/s: higher is better; latency, CPU, RSS: lower is better)",
    line(head),
    ...rows.map(line),
    "",
    ...details,
  ].join("\n");
}

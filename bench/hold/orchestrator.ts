/**
 * `npm run bench -- hold`: how many idle feed streams one server process
 * holds, and what each costs. Streams are opened in steps; after each
 * step the server runs a full GC and reports its memory
 * (lib/server-hooks.ts, SIGUSR2), and its open descriptors and
 * connections are read from /proc. The run stops at the first step where
 * a stream fails to open, an open stream ends, or the server exits: the
 * failure point. At the end every stream is held idle for --hold seconds
 * (server CPU at rest: heartbeats) and checked again.
 *
 * The open-files limit of the server and the load generator is raised
 * first (prlimit); grpc-h2-multi carries many streams per HTTP/2 session
 * so the client needs few sockets.
 */
import { feedHarnessSpec, withHarness } from "../lib/harness.js";
import { cpuSecondsOrNaN, establishedConnections, openFds, rssBytes } from "../lib/proc.js";
import { finish, fmtCounts, fmtInt, fmtMiB, formatColumns, makeRecord } from "../lib/report.js";
import type { ServerMemory } from "../lib/server-process.js";
import { sleep } from "../lib/timers.js";
import type { FromHold, HoldStatus, StepStats, ToHold } from "./ipc.js";
import type { HoldOptions } from "./options.js";

/** One step as stored. */
export interface HoldStep {
  /** Streams alive after the step. */
  streams: number;
  opened: number;
  failedInStep: number;
  dropped: number;
  openSeconds: number;
  /** After a full GC; undefined if the server did not answer. */
  serverMemory: ServerMemory | undefined;
  /** (now − before any stream) / streams alive, KiB. */
  rssPerStreamKiB: number;
  heapPerStreamKiB: number;
  serverFds: number;
  serverConnections: number;
  serverCpuSeconds: number;
  /** Load generator CPU seconds while opening, and its event-loop delay p99 / max (ms). */
  clientCpuSeconds: number;
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
  clientRss: number;
  clientHeapUsed: number;
  clientConnections: number;
}

/** What a hold run stores. */
export interface HoldResult {
  users: number;
  rooms: number;
  baseline: ServerMemory;
  steps: HoldStep[];
  /** Most streams alive at once. */
  maxStreams: number;
  reachedTarget: boolean;
  /** Why it stopped short, if it did. */
  failure: string | undefined;
  failuresByCode: Record<string, number>;
  topFailures: { message: string; count: number }[];
  /** The final idle hold (undefined if not reached). */
  idle:
    | {
        seconds: number;
        serverCpuSeconds: number;
        serverCpuCores: number;
        /** Load generator CPU over the same window (receiving heartbeats). */
        clientCpuSeconds: number;
        clientCpuCores: number;
        droppedDuringHold: number;
        heartbeats: number;
        aliveAtEnd: number;
      }
    | undefined;
  /** The largest step's per-stream figures. */
  rssPerStreamKiB: number;
  heapPerStreamKiB: number;
}

/** Runs the scenario, prints and stores the result. */
export async function runHold(options: HoldOptions): Promise<void> {
  const o = options;
  await withHarness(feedHarnessSpec("hold", o.streams, o), async (h) => {
    const loadgen = h.loadgen<ToHold, FromHold>(new URL("./loadgen.ts", import.meta.url), {
      nodeOptions: ["--expose-gc", "--max-old-space-size=8192"],
    });
    const setup = await loadgen.request(
      { type: "setup", baseUrl: h.server.baseUrl, options: o },
      "setupDone",
      600_000,
    );
    await sleep(o.settleS * 1000);
    const baseline = await h.server.memory();
    h.log(
      `${setup.users} users, ${setup.rooms} rooms; server RSS ${fmtMiB(baseline.rss)}, heap ${fmtMiB(baseline.heapUsed)}; opening ${fmtInt(o.streams)} ${o.protocol} streams in steps of ${fmtInt(o.step)}`,
    );
    const steps: HoldStep[] = [];
    let failure: string | undefined;
    let last: HoldStatus | undefined;
    let gone = false;
    void h.server.exited.then(() => {
      gone = true;
    });
    for (let total = 0; total < o.streams && !failure; ) {
      const count = Math.min(o.step, o.streams - total);
      total += count;
      const cpu0 = cpuSecondsOrNaN(h.server.pid);
      let stats: StepStats;
      try {
        ({ stats } = await loadgen.request(
          { type: "step", count },
          "stepDone",
          (o.openTimeoutS + 120) * 1000 + 50 * count,
        ));
      } catch (err) {
        failure = `step to ${fmtInt(total)}: ${(err as Error).message}`;
        break;
      }
      last = stats.status;
      await sleep(o.settleS * 1000);
      const serverCpuSeconds = cpuSecondsOrNaN(h.server.pid) - cpu0;
      let mem: ServerMemory | undefined;
      try {
        if (!gone) mem = await h.server.memory();
      } catch {
        mem = undefined;
      }
      const alive = stats.status.alive;
      const row: HoldStep = {
        streams: alive,
        opened: stats.opened,
        failedInStep: stats.failedInStep,
        dropped: stats.status.dropped,
        openSeconds: stats.seconds,
        serverMemory: mem,
        rssPerStreamKiB: mem ? (mem.rss - baseline.rss) / 1024 / alive : Number.NaN,
        heapPerStreamKiB: mem ? (mem.heapUsed - baseline.heapUsed) / 1024 / alive : Number.NaN,
        serverFds: openFds(h.server.pid),
        serverConnections: establishedConnections(h.server.port),
        serverCpuSeconds,
        clientCpuSeconds: stats.clientCpuSeconds,
        clientLoopDelayP99Ms: stats.clientLoopDelayP99Ms,
        clientLoopDelayMaxMs: stats.clientLoopDelayMaxMs,
        clientRss: stats.status.clientRss,
        clientHeapUsed: stats.status.clientHeapUsed,
        clientConnections: stats.status.connections,
      };
      steps.push(row);
      h.log(
        `${fmtInt(alive)} streams (+${fmtInt(stats.ready)} in ${stats.seconds.toFixed(1)} s): server RSS ${mem ? fmtMiB(mem.rss) : "?"}, heap ${mem ? fmtMiB(mem.heapUsed) : "?"}, ${fmtInt(row.serverFds)} fds; client RSS ${fmtMiB(row.clientRss)}`,
      );
      if (gone)
        failure = `the server exited (${await h.server.exited}) at step to ${fmtInt(total)}`;
      else if (stats.failedInStep > 0 || stats.status.dropped > 0) {
        failure = `at step to ${fmtInt(total)}: ${stats.failedInStep} failed to open, ${stats.status.dropped} open streams ended (${fmtCounts(stats.status.failuresByCode)})`;
      } else if (!mem) failure = `no memory report from the server at ${fmtInt(total)} streams`;
    }
    let idle: HoldResult["idle"];
    if (!failure) {
      h.log(`holding ${fmtInt(last?.alive ?? 0)} idle streams for ${o.holdS} s`);
      // Counted from here: heartbeats and drops of the hold itself.
      const { status: before } = await loadgen.request({ type: "status" }, "statusDone", 120_000);
      const cpu0 = cpuSecondsOrNaN(h.server.pid);
      const clientCpu0 = cpuSecondsOrNaN(loadgen.pid);
      const w0 = performance.now();
      await sleep(o.holdS * 1000);
      const cpu = cpuSecondsOrNaN(h.server.pid) - cpu0;
      const clientCpu = cpuSecondsOrNaN(loadgen.pid) - clientCpu0;
      const seconds = (performance.now() - w0) / 1000;
      const { status } = await loadgen.request({ type: "status" }, "statusDone", 120_000);
      last = status;
      idle = {
        seconds,
        serverCpuSeconds: cpu,
        serverCpuCores: cpu / seconds,
        clientCpuSeconds: clientCpu,
        clientCpuCores: clientCpu / seconds,
        droppedDuringHold: status.dropped - before.dropped,
        heartbeats: status.heartbeats - before.heartbeats,
        aliveAtEnd: status.alive,
      };
      if (idle.droppedDuringHold > 0) {
        failure = `${idle.droppedDuringHold} streams ended during the idle hold (${fmtCounts(status.failuresByCode)})`;
      }
    }
    const loadgenRss = rssBytes(loadgen.pid);
    await h.stopProcesses();
    // The largest step the server reported memory for.
    const top = steps.filter((s) => s.serverMemory).at(-1);
    const result: HoldResult = {
      users: setup.users,
      rooms: setup.rooms,
      baseline,
      steps,
      maxStreams: Math.max(0, ...steps.map((s) => s.streams)),
      reachedTarget: !failure && (top?.streams ?? 0) >= o.streams,
      failure,
      failuresByCode: last?.failuresByCode ?? {},
      topFailures: last?.topFailures ?? [],
      idle,
      rssPerStreamKiB: top?.rssPerStreamKiB ?? Number.NaN,
      heapPerStreamKiB: top?.heapPerStreamKiB ?? Number.NaN,
    };
    const problems = failure ? [failure] : [];
    const record = makeRecord(h, o, result, problems);
    finish(h, record, rows(o, result, loadgenRss), o.save, { before: stepTable(result) });
  });
}

function stepTable(r: HoldResult): string {
  const head = [
    "streams",
    "open s",
    "opens/s",
    "srv RSS MiB",
    "srv heap MiB",
    "RSS/stream KiB",
    "heap/stream KiB",
    "srv fds",
    "srv conns",
    "srv CPU s",
    "client CPU s",
    "client cores",
    "client ms/open",
    "client lag p99 ms",
    "client RSS MiB",
    "failed",
  ];
  const rows = r.steps.map((s) => [
    fmtInt(s.streams),
    s.openSeconds.toFixed(1),
    fmtInt(s.opened / s.openSeconds),
    s.serverMemory ? (s.serverMemory.rss / 2 ** 20).toFixed(0) : "?",
    s.serverMemory ? (s.serverMemory.heapUsed / 2 ** 20).toFixed(0) : "?",
    s.rssPerStreamKiB.toFixed(1),
    s.heapPerStreamKiB.toFixed(1),
    fmtInt(s.serverFds),
    fmtInt(s.serverConnections),
    s.serverCpuSeconds.toFixed(1),
    s.clientCpuSeconds.toFixed(1),
    s.openSeconds > 0 ? (s.clientCpuSeconds / s.openSeconds).toFixed(2) : "-",
    s.opened > 0 ? ((s.clientCpuSeconds * 1000) / s.opened).toFixed(2) : "-",
    s.clientLoopDelayP99Ms.toFixed(0),
    (s.clientRss / 2 ** 20).toFixed(0),
    String(s.failedInStep + s.dropped),
  ]);
  return [
    `per step (server memory after a full GC; per stream = (now − before any stream) / streams):`,
    ...formatColumns(head, rows),
  ].join("\n");
}

function rows(o: HoldOptions, r: HoldResult, loadgenRss: number): [string, string][] {
  const top = r.steps.filter((s) => s.serverMemory).at(-1);
  const out: [string, string][] = [
    [
      "streams",
      `${fmtInt(o.streams)} asked, ${o.protocol} (${o.client} client)${o.protocol === "grpc-h2-multi" ? ` (${o.perSession} per session)` : " (one connection each)"}, ${r.users - 1} accounts (at most ${o.streamsPerUser} streams each), ${r.rooms} room(s) each`,
    ],
    [
      "held",
      r.reachedTarget
        ? `${fmtInt(r.maxStreams)}: all, no failure`
        : `${fmtInt(r.maxStreams)} at most; stopped: ${r.failure ?? "?"}`,
    ],
    [
      "per idle stream: RSS / V8 heap",
      `${r.rssPerStreamKiB.toFixed(1)} KiB / ${r.heapPerStreamKiB.toFixed(1)} KiB (at ${fmtInt(top?.streams ?? 0)} streams)`,
    ],
    [
      "server RSS / heap before → at the top",
      `${fmtMiB(r.baseline.rss)} → ${fmtMiB(top?.serverMemory?.rss ?? Number.NaN)} / ${fmtMiB(r.baseline.heapUsed)} → ${fmtMiB(top?.serverMemory?.heapUsed ?? Number.NaN)}`,
    ],
    [
      "server fds / connections at the top",
      `${fmtInt(top?.serverFds ?? Number.NaN)} / ${fmtInt(top?.serverConnections ?? Number.NaN)}`,
    ],
    [
      "load generator at the top",
      `RSS ${fmtMiB(top?.clientRss ?? Number.NaN)} (after GC), heap ${fmtMiB(top?.clientHeapUsed ?? Number.NaN)}, ${fmtInt(top?.clientConnections ?? 0)} connections; RSS at the end ${fmtMiB(loadgenRss)}`,
    ],
  ];
  if (r.idle) {
    out.push([
      `idle hold ${r.idle.seconds.toFixed(0)} s`,
      `server CPU ${r.idle.serverCpuSeconds.toFixed(2)} s = ${r.idle.serverCpuCores.toFixed(3)} cores; load generator CPU ${r.idle.clientCpuSeconds.toFixed(2)} s = ${r.idle.clientCpuCores.toFixed(3)} cores, ${r.idle.heartbeats > 0 ? ((r.idle.clientCpuSeconds * 1e6) / r.idle.heartbeats).toFixed(0) : "-"} µs per heartbeat; ${fmtInt(r.idle.heartbeats)} heartbeats received; ${r.idle.droppedDuringHold} dropped; ${fmtInt(r.idle.aliveAtEnd)} alive`,
    ]);
  }
  out.push(["failures", fmtCounts(r.failuresByCode)]);
  for (const f of r.topFailures.slice(0, 3)) out.push(["failure", `${f.count} × ${f.message}`]);
  return out;
}

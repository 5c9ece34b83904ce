/**
 * `npm run bench -- storm`: K Subscribe calls started at once (a
 * reconnect storm after a restart or a network blip): how many succeed,
 * how long each waits for `ready`, which errors the rest get, and what
 * the storm costs the server (CPU, memory after a full GC).
 *
 * Processes: this orchestrator, the server (lib/server-process.ts) and
 * the load generator (loadgen.ts), on the shared harness (lib/harness.ts).
 */
import { fmtCores, fmtCpuPer } from "../clients/client-load.js";
import { feedHarnessSpec, withHarness } from "../lib/harness.js";
import type { LatencySummary } from "../lib/histogram.js";
import { cpuSeconds, establishedConnections, openFds } from "../lib/proc.js";
import { finish, fmtCounts, fmtInt, fmtLatency, fmtMiB, makeRecord } from "../lib/report.js";
import type { ServerMemory } from "../lib/server-process.js";
import { sleep } from "../lib/timers.js";
import type { FromStorm, HoldStats, StormStats, ToStorm } from "./ipc.js";
import type { StormOptions } from "./options.js";

/** What a storm run stores. */
export interface StormResult {
  users: number;
  rooms: number;
  storm: StormStats;
  hold: HoldStats;
  /** ready / started. */
  successRate: number;
  timeToReadyMs: LatencySummary;
  /** Server CPU seconds while the calls were settling (storm start → every call ready or failed). */
  serverCpuSeconds: number;
  /** Wall seconds of that window. */
  stormSeconds: number;
  serverConnections: number;
  serverOpenFds: number;
  serverMemoryBefore: ServerMemory;
  serverMemoryAfter: ServerMemory;
  /** (after − before) / ready streams, KiB. */
  rssPerStreamKiB: number;
  heapPerStreamKiB: number;
}

/** Runs the scenario, prints and stores the result. */
export async function runStorm(options: StormOptions): Promise<void> {
  await withHarness(feedHarnessSpec("storm", options.subscribers, options), async (h) => {
    const loadgen = h.loadgen<ToStorm, FromStorm>(new URL("./loadgen.ts", import.meta.url), {
      nodeOptions: options.subscribers > 10_000 ? ["--max-old-space-size=8192"] : [],
    });
    const setup = await loadgen.request(
      { type: "setup", baseUrl: h.server.baseUrl, options },
      "setupDone",
      600_000,
    );
    await sleep(2_000);
    const memBefore = await h.server.memory();
    h.log(
      `${setup.users} users, ${setup.rooms} rooms; starting ${options.subscribers} ${options.protocol} Subscribe calls${options.spreadMs ? ` over ${options.spreadMs} ms` : " at once"}`,
    );
    const cpu0 = cpuSeconds(h.server.pid);
    const w0 = performance.now();
    const { stats } = await loadgen.request(
      { type: "storm" },
      "stormDone",
      (options.timeoutS + options.spreadMs / 1000 + 120) * 1000,
    );
    const serverCpuSeconds = cpuSeconds(h.server.pid) - cpu0;
    const stormSeconds = (performance.now() - w0) / 1000;
    h.log(`${stats.ready} ready, ${stats.failedBeforeReady} failed; holding ${options.holdS} s`);
    const serverConnections = establishedConnections(h.server.port);
    const serverOpenFds = openFds(h.server.pid);
    const memAfter = await h.server.memory();
    const { stats: held } = await loadgen.request(
      { type: "hold" },
      "holdDone",
      (options.holdS + 60) * 1000,
    );
    await h.stopProcesses();
    const result: StormResult = {
      users: setup.users,
      rooms: setup.rooms,
      storm: stats,
      hold: held,
      successRate: stats.ready / stats.started,
      timeToReadyMs: stats.timeToReady,
      serverCpuSeconds,
      stormSeconds,
      serverConnections,
      serverOpenFds,
      serverMemoryBefore: memBefore,
      serverMemoryAfter: memAfter,
      rssPerStreamKiB: stats.ready
        ? (memAfter.rss - memBefore.rss) / 1024 / stats.ready
        : Number.NaN,
      heapPerStreamKiB: stats.ready
        ? (memAfter.heapUsed - memBefore.heapUsed) / 1024 / stats.ready
        : Number.NaN,
    };
    const problems: string[] = [];
    if (stats.ready < stats.started) {
      problems.push(`${stats.started - stats.ready} of ${stats.started} calls got no ready`);
    }
    if (held.droppedAfterReady > 0) {
      problems.push(`${held.droppedAfterReady} streams ended during the hold`);
    }
    const record = makeRecord(h, options, result, problems);
    finish(h, record, rows(options, result), options.save);
  });
}

function rows(o: StormOptions, r: StormResult): [string, string][] {
  const s = r.storm;
  return [
    [
      "storm",
      `${fmtInt(o.subscribers)} Subscribe calls, ${o.protocol} (${o.client} client)${o.protocol === "grpc-h2-multi" ? ` (${o.perSession} per session)` : ""}, ${o.spreadMs ? `spread over ${o.spreadMs} ms` : `started at once (in ${(s.startSeconds * 1000).toFixed(0)} ms, ${Number.isFinite(s.startCpuSeconds) ? (s.startCpuSeconds * 1000).toFixed(0) : "?"} ms of load generator CPU)`}`,
    ],
    [
      "accounts / rooms",
      `${r.users - 1} with streams (at most ${o.streamsPerUser} each) + 1 room owner / ${r.rooms} room(s) per account`,
    ],
    [
      "success",
      `${fmtInt(s.ready)} / ${fmtInt(s.started)} ready = ${(100 * r.successRate).toFixed(2)}%`,
    ],
    ["time to ready ms (call → ready)", fmtLatency(r.timeToReadyMs)],
    [
      "all ready after",
      s.ready ? `${s.allReadySeconds.toFixed(2)} s (storm start → last ready)` : "-",
    ],
    ["errors before ready", fmtCounts(s.errorsByCode)],
    ...s.topErrors.slice(0, 3).map((e): [string, string] => ["error", `${e.count} × ${e.message}`]),
    [
      `dropped after ready (until the end of the ${o.holdS} s hold)`,
      `${r.hold.droppedAfterReady} (${fmtCounts(r.hold.droppedByCode)}), ${fmtInt(r.hold.aliveAtEnd)} alive at the end`,
    ],
    [
      "server CPU for the storm",
      `${r.serverCpuSeconds.toFixed(2)} s over ${r.stormSeconds.toFixed(2)} s (${(r.serverCpuSeconds / r.stormSeconds).toFixed(2)} cores), ${s.ready ? ((r.serverCpuSeconds * 1000) / s.ready).toFixed(2) : "-"} ms per ready stream`,
    ],
    [
      `load generator (${o.client} client) for the storm`,
      `${fmtCores(s.clientCpuSeconds, s.clientWallSeconds)}, ${fmtCpuPer(s.clientCpuSeconds, s.started, "stream started", "ms")}; event-loop delay p99 ${s.clientLoopDelayP99Ms.toFixed(0)} ms, max ${s.clientLoopDelayMaxMs.toFixed(0)} ms`,
    ],
    [
      "connections client / server, server fds",
      `${fmtInt(s.connections)} / ${fmtInt(r.serverConnections)}, ${fmtInt(r.serverOpenFds)}`,
    ],
    [
      "server RSS / heap before → after (full GC)",
      `${fmtMiB(r.serverMemoryBefore.rss)} → ${fmtMiB(r.serverMemoryAfter.rss)} / ${fmtMiB(r.serverMemoryBefore.heapUsed)} → ${fmtMiB(r.serverMemoryAfter.heapUsed)}`,
    ],
    [
      "per open stream: RSS / V8 heap",
      s.ready ? `${r.rssPerStreamKiB.toFixed(1)} KiB / ${r.heapPerStreamKiB.toFixed(1)} KiB` : "-",
    ],
  ];
}

/**
 * `npm run bench -- resume`: N feeds go away, their rooms move on by E
 * events each, then all N reconnect at once with their last sequence per
 * room (plus a few live messages during the reconnect, so the switch from
 * replay to live is exercised). Every stream must catch up with no gap,
 * no duplicate and no reset; measured: time to ready and to caught up,
 * and the server's CPU time for the reconnect.
 *
 * Processes: this orchestrator, the server (lib/server-process.ts) and
 * the load generator (loadgen.ts), on the shared harness (lib/harness.ts).
 */
import { fmtCores, fmtCpuPer } from "../clients/client-load.js";
import { feedHarnessSpec, withHarness } from "../lib/harness.js";
import { cpuSeconds } from "../lib/proc.js";
import { finish, fmtCounts, fmtInt, fmtLatency, makeRecord } from "../lib/report.js";
import type { FromResume, ReconnectStats, ToResume } from "./ipc.js";
import type { ResumeOptions } from "./options.js";

/** What a resume run stores. */
export interface ResumeResult {
  users: number;
  rooms: number;
  firstOpen: { ready: number; failed: number; seconds: number; connections: number };
  disconnect: { seconds: number; serverConnectionsLeft: number };
  advance: { sent: number; errors: number; seconds: number; heads: string[] };
  reconnect: ReconnectStats;
  /** Server CPU seconds from the reconnect start until every stream was complete. */
  serverCpuSeconds: number;
  reconnectWallSeconds: number;
  /** replayedEvents / allCaughtUpSeconds. */
  replayedEventsPerSecond: number;
}

/** Runs the scenario, prints and stores the result. */
export async function runResume(options: ResumeOptions): Promise<void> {
  const o = options;
  const perRoom = o.events + o.live;
  const serverEnv = {
    // Every stream is owed E (+ L) events per room: a replay, never a reset.
    FEED_MAX_REPLAY: String(Math.max(1_000, perRoom + 100)),
    // Room for the whole catch-up of a stream, so a stream is not cut off for it.
    FEED_QUEUE_LIMIT: String(Math.min(1_000_000, Math.max(1_000, 2 * o.rooms * perRoom + 200))),
  };
  await withHarness(feedHarnessSpec("resume", o.subscribers, o, serverEnv), async (h) => {
    const loadgen = h.loadgen<ToResume, FromResume>(new URL("./loadgen.ts", import.meta.url), {
      nodeOptions: o.subscribers > 10_000 ? ["--max-old-space-size=8192"] : [],
    });
    const setup = await loadgen.request(
      { type: "setup", baseUrl: h.server.baseUrl, options: o },
      "setupDone",
      600_000,
    );
    h.log(
      `${setup.users} users, ${setup.rooms} rooms; opening ${o.subscribers} ${o.protocol} streams`,
    );
    const opened = await loadgen.request({ type: "open" }, "opened", 120_000 + 100 * o.subscribers);
    h.log(
      `${opened.ready} ready (${opened.failed} failed) in ${opened.openSeconds.toFixed(1)} s; disconnecting`,
    );
    const gone = await loadgen.request({ type: "disconnect" }, "disconnected", 60_000);
    h.log(`disconnected in ${gone.seconds.toFixed(1)} s; sending ${o.events} messages per room`);
    const adv = await loadgen.request(
      { type: "advance" },
      "advanced",
      (60 + o.events * o.rooms) * 1000,
    );
    h.log(
      `rooms at ${adv.heads.join(", ")} after ${adv.seconds.toFixed(1)} s; ${opened.ready} streams reconnect at once (+${o.live} live messages per room)`,
    );
    const cpu0 = cpuSeconds(h.server.pid);
    const w0 = performance.now();
    const { stats } = await loadgen.request(
      { type: "reconnect" },
      "reconnected",
      (o.timeoutS + 120) * 1000,
    );
    const serverCpuSeconds = cpuSeconds(h.server.pid) - cpu0;
    const reconnectWallSeconds = (performance.now() - w0) / 1000;
    await h.stopProcesses();
    const result: ResumeResult = {
      users: setup.users,
      rooms: setup.rooms,
      firstOpen: {
        ready: opened.ready,
        failed: opened.failed,
        seconds: opened.openSeconds,
        connections: opened.connections,
      },
      disconnect: { seconds: gone.seconds, serverConnectionsLeft: gone.serverConnectionsLeft },
      advance: {
        sent: adv.sent,
        errors: adv.errors,
        seconds: adv.seconds,
        heads: adv.heads.map(String),
      },
      reconnect: stats,
      serverCpuSeconds,
      reconnectWallSeconds,
      replayedEventsPerSecond:
        stats.allCaughtUpSeconds > 0 ? stats.replayedEvents / stats.allCaughtUpSeconds : 0,
    };
    const problems: string[] = [];
    if (opened.failed > 0) problems.push(`${opened.failed} streams failed to open at first`);
    if (gone.serverConnectionsLeft > 0) {
      problems.push(
        `${gone.serverConnectionsLeft} server connections still open after the disconnect`,
      );
    }
    if (adv.errors > 0) problems.push(`${adv.errors} sends failed while the streams were away`);
    if (stats.liveErrors > 0) problems.push(`${stats.liveErrors} live sends failed`);
    if (stats.wrong > 0) {
      problems.push(
        `${stats.wrong} of ${stats.streams} streams wrong: duplicates ${stats.duplicates}, gaps ${stats.gaps}, resets ${stats.resets}, incomplete ${stats.incomplete}, errors ${fmtCounts(stats.errorsByCode)}${stats.timedOut ? " (timed out)" : ""}`,
      );
      problems.push(...stats.wrongExamples);
    }
    const record = makeRecord(h, o, result, problems);
    finish(h, record, rows(o, result), o.save);
  });
}

function rows(o: ResumeOptions, r: ResumeResult): [string, string][] {
  const s = r.reconnect;
  return [
    [
      "streams",
      `${fmtInt(o.subscribers)} ${o.protocol} (${o.client} client)${o.protocol === "grpc-h2-multi" ? ` (${o.perSession} per session)` : ""}, ${r.users - 1} accounts (at most ${o.streamsPerUser} streams each), ${r.rooms} rooms each`,
    ],
    [
      "while away",
      `${o.events} events per room (${r.advance.sent} sent in ${r.advance.seconds.toFixed(1)} s), then ${o.live} live per room during the reconnect, one every ${o.liveIntervalMs} ms`,
    ],
    [
      "reconnect",
      `${fmtInt(s.ready)} / ${fmtInt(s.streams)} ready, ${fmtInt(s.caughtUp)} caught up, ${fmtInt(s.complete)} complete and correct`,
    ],
    ["time to ready ms (call → ready)", fmtLatency(s.timeToReady)],
    ["time to caught up ms (call → head)", fmtLatency(s.timeToCaughtUp)],
    [
      "all caught up / complete after",
      `${s.allCaughtUpSeconds.toFixed(2)} s / ${s.allCompleteSeconds.toFixed(2)} s (reconnect start → last stream)`,
    ],
    [
      "replayed events",
      `${fmtInt(s.replayedEvents)} (${fmtInt(r.replayedEventsPerSecond)}/s until all caught up); ${fmtInt(s.roomEventsReceived)} room events received`,
    ],
    [
      "verification",
      s.wrong === 0
        ? "OK: every stream got every event from its position to the final head once, in order, no reset"
        : `FAILED: ${s.wrong} streams (duplicates ${s.duplicates}, gaps ${s.gaps}, resets ${s.resets}, incomplete ${s.incomplete}${s.timedOut ? ", timed out" : ""})`,
    ],
    ["errors", fmtCounts(s.errorsByCode)],
    [
      "server CPU for the reconnect",
      `${r.serverCpuSeconds.toFixed(2)} s over ${r.reconnectWallSeconds.toFixed(1)} s (${(r.serverCpuSeconds / r.reconnectWallSeconds).toFixed(2)} cores)`,
    ],
    [
      `load generator (${o.client} client) for the reconnect`,
      `${fmtCores(s.clientCpuSeconds, s.clientWallSeconds)}, ${fmtCpuPer(s.clientCpuSeconds, s.streams, "stream", "ms")}, ${fmtCpuPer(s.clientCpuSeconds, s.roomEventsReceived, "room event", "µs")}; event-loop delay p99 ${s.clientLoopDelayP99Ms.toFixed(0)} ms, max ${s.clientLoopDelayMaxMs.toFixed(0)} ms`,
    ],
    [
      "first open / disconnect",
      `${r.firstOpen.seconds.toFixed(1)} s (${r.firstOpen.connections} connections) / ${r.disconnect.seconds.toFixed(1)} s`,
    ],
  ];
}

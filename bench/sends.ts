/**
 * `npm run bench -- sends`: how many messages per second the server
 * persists, from many senders across many rooms (spread) and into one
 * room (hot), at a fixed open-loop rate or saturating; then checks the
 * database against every acknowledgement (bench/sends-verify.ts).
 *
 * Processes: this orchestrator, the server (bench/server-process.ts) and
 * the load generator (bench/sends-loadgen.ts). The server's CPU time is
 * read from /proc around each phase.
 */
import type { LatencySummary } from "./histogram.js";
import { cpuSeconds } from "./proc.js";
import {
  finish,
  fmtCounts,
  fmtInt,
  fmtLatency,
  fmtMs,
  makeRecord,
  withHarness,
} from "./scenario-harness.js";
import type { Ack, FromSends, PhaseStats, ToSends } from "./sends-ipc.js";
import type { SendsOptions } from "./sends-options.js";
import { type SendsVerification, verifySends } from "./sends-verify.js";

/** A phase as stored (without the per-message lists). */
export interface SendsPhaseResult {
  phase: "spread" | "hot";
  rooms: number;
  offered: number;
  acked: number;
  failed: number;
  skipped: number;
  errorsByCode: Record<string, number>;
  firstErrors: string[];
  /** Acked messages / (first scheduled send → last ack). */
  persistedPerSecond: number;
  ackLatencyMs: LatencySummary;
  startLagMs: LatencySummary;
  windowSeconds: number;
  serverCpuSeconds: number;
  serverCpuCores: number;
  serverCpuMsPerMessage: number;
  clientCpuSeconds: number;
  clientCpuCores: number;
}

/** What a sends run stores. */
export interface SendsResult {
  users: number;
  connections: number;
  phases: SendsPhaseResult[];
  verification: SendsVerification;
}

/** Runs the scenario, prints and stores the result. */
export async function runSends(options: SendsOptions): Promise<void> {
  const phases: ("spread" | "hot")[] =
    options.target === "both" ? ["spread", "hot"] : [options.target];
  await withHarness(
    { scenario: "sends", serverEnv: {}, fdLimit: 6 * options.senders + 2048 },
    async (h) => {
      const loadgen = h.loadgen<ToSends, FromSends>(new URL("./sends-loadgen.ts", import.meta.url));
      h.log(`creating ${options.senders} senders and ${options.rooms} rooms`);
      const setup = await loadgen.request(
        {
          type: "setup",
          config: {
            baseUrl: h.server.baseUrl,
            rooms: options.rooms,
            senders: options.senders,
            withHotRoom: phases.includes("hot"),
            protocol: options.protocol,
            via: options.via,
            rate: options.rate,
            concurrency: options.concurrency,
            durationMs: options.durationS * 1000,
            maxInFlight: options.maxInFlight,
            sendTimeoutMs: options.sendTimeoutS * 1000,
            size: options.size,
          },
        },
        "setupDone",
        600_000 + 500 * (options.senders + options.rooms),
      );
      const results: SendsPhaseResult[] = [];
      const acks: Ack[] = [];
      const failedIds: string[] = [];
      let connections = 0;
      for (const phase of phases) {
        h.log(
          `${phase} phase: ${options.rate > 0 ? `${options.rate} sends/s` : `saturation, ${options.concurrency} in flight`} for ${options.durationS} s`,
        );
        const cpu0 = cpuSeconds(h.server.pid);
        const { stats, connections: c } = await loadgen.request(
          { type: "phase", phase },
          "phaseDone",
          (2 * options.durationS + options.sendTimeoutS + 120) * 1000,
        );
        const serverCpu = cpuSeconds(h.server.pid) - cpu0;
        connections = c;
        acks.push(...stats.acks);
        failedIds.push(...stats.failedIds);
        results.push(phaseResult(stats, serverCpu));
        h.log(`${phase} phase: ${stats.acked} acknowledged, ${stats.failedIds.length} failed`);
      }
      // Stopped first: calls that timed out on the client may still commit.
      await h.stopProcesses();
      const rooms = [...setup.rooms, ...(setup.hotRoom ? [setup.hotRoom] : [])];
      h.log(`checking ${acks.length} acknowledged messages in ${rooms.length} rooms`);
      const verification = await verifySends(
        h.db.url,
        rooms,
        acks,
        setup.clientIdPrefix,
        failedIds,
      );
      const problems = [...verification.problems];
      for (const p of results) {
        if (p.acked === 0) problems.push(`${p.phase} phase: no message acknowledged`);
      }
      const result: SendsResult = {
        users: setup.users,
        connections,
        phases: results,
        verification,
      };
      const record = makeRecord(h, "sends", options, result, problems);
      finish(h, record, rows(options, result), options.save);
    },
  );
}

function phaseResult(s: PhaseStats, serverCpuSeconds: number): SendsPhaseResult {
  const failed = s.failedIds.length;
  return {
    phase: s.phase,
    rooms: s.roomsUsed,
    offered: s.offered,
    acked: s.acked,
    failed,
    skipped: s.skipped,
    errorsByCode: s.errorsByCode,
    firstErrors: s.firstErrors,
    persistedPerSecond: s.windowSeconds > 0 ? s.acked / s.windowSeconds : 0,
    ackLatencyMs: s.ackLatency,
    startLagMs: s.startLag,
    windowSeconds: s.windowSeconds,
    serverCpuSeconds,
    serverCpuCores: s.windowSeconds > 0 ? serverCpuSeconds / s.windowSeconds : Number.NaN,
    serverCpuMsPerMessage: s.acked > 0 ? (serverCpuSeconds * 1000) / s.acked : Number.NaN,
    clientCpuSeconds: s.clientCpuSeconds,
    clientCpuCores: s.windowSeconds > 0 ? s.clientCpuSeconds / s.windowSeconds : Number.NaN,
  };
}

function rows(o: SendsOptions, r: SendsResult): [string, string][] {
  const out: [string, string][] = [
    [
      "load",
      o.rate > 0
        ? `open loop ${o.rate} sends/s for ${o.durationS} s per phase (at most ${o.maxInFlight} in flight)`
        : `saturation, ${o.concurrency} in flight, ${o.durationS} s per phase`,
    ],
    [
      "senders / rooms",
      `${o.senders} / ${o.rooms} + hot room (${o.protocol}, ${r.connections} connections, ${o.via === "chat" ? "one Chat stream per sender" : "unary SendMessage"})`,
    ],
  ];
  for (const p of r.phases) {
    const name = p.phase === "spread" ? `spread (${p.rooms} rooms)` : "hot (1 room)";
    out.push(
      [
        `${name}: persisted msg/s`,
        `${p.persistedPerSecond.toFixed(1)} (over ${p.windowSeconds.toFixed(1)} s, first send → last ack)`,
      ],
      [
        `${name}: sends`,
        `offered ${fmtInt(p.offered)}, acked ${fmtInt(p.acked)}, failed ${fmtInt(p.failed)}, skipped ${fmtInt(p.skipped)}`,
      ],
      [`${name}: ack latency ms`, fmtLatency(p.ackLatencyMs)],
      [`${name}: errors`, fmtCounts(p.errorsByCode)],
      [
        `${name}: server CPU`,
        `${p.serverCpuSeconds.toFixed(2)} s = ${p.serverCpuCores.toFixed(2)} cores, ${fmtMs(p.serverCpuMsPerMessage)} ms/message`,
      ],
      [
        `${name}: load generator`,
        `${p.clientCpuCores.toFixed(2)} cores${o.rate > 0 ? `, start lag p99 ${fmtMs(p.startLagMs.p99)} ms` : ""}`,
      ],
    );
    for (const e of p.firstErrors.slice(0, 2)) out.push([`${name}: error`, e]);
  }
  const v = r.verification;
  out.push(
    [
      "database: rooms",
      `${v.rooms} rooms, ${fmtInt(v.events)} events: ${v.roomsWithHoles === 0 ? "room_events and messages seq 1..last_seq without holes" : `${v.roomsWithHoles} rooms with holes`}`,
    ],
    [
      "database: acknowledged",
      `${fmtInt(v.acksChecked)} checked: missing ${v.ackedMissing}, stored twice ${v.storedTwice}, wrong id/seq/event ${v.ackedMismatch}, same seq twice ${v.acksSharingSeq}, duplicate acks ${v.duplicateAcks}`,
    ],
    [
      "database: not acknowledged",
      `${v.storedAfterFailure} rows of failed calls (committed after the client gave up), ${v.storedUnknown} unknown`,
    ],
  );
  return out;
}

/**
 * `npm run bench -- sends`: how many messages per second the server
 * persists, from many senders across many rooms (spread), into one room
 * (hot), and one at a time (solo: the latency of a send that waits for
 * nothing but itself), at a fixed open-loop rate or saturating; then
 * checks the database against every acknowledgement (verify.ts). With
 * `--via direct` the load generator writes through RoomWriter itself: the
 * storage path's capacity without the cost of RPC.
 *
 * Processes: this orchestrator, the server (lib/server-process.ts) and
 * the load generator (loadgen.ts), on the shared harness
 * (lib/harness.ts). The server's CPU time is read from /proc around each
 * phase.
 */

import type { Ack } from "../lib/db-checks.js";
import { withHarness } from "../lib/harness.js";
import type { LatencySummary } from "../lib/histogram.js";
import { cpuSeconds } from "../lib/proc.js";
import { finish, fmtCounts, fmtInt, fmtLatency, fmtMs, makeRecord } from "../lib/report.js";
import { workersEnv } from "../lib/server-process.js";
import type { FromSends, PhaseStats, ToSends } from "./ipc.js";
import { phasesOf, type SendPhase, type SendsOptions } from "./options.js";
import { type SendsVerification, verifySends } from "./verify.js";

/** A phase as stored (without the per-message lists). */
export interface SendsPhaseResult {
  phase: SendPhase;
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
  /** Load generator CPU per acknowledged message (`--via direct`: the whole storage path but MariaDB). */
  clientCpuMsPerMessage: number;
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
  const phases = phasesOf(options.target);
  await withHarness(
    {
      scenario: "sends",
      serverEnv: workersEnv(options.workers),
      fdLimit: 6 * options.senders + 2048,
    },
    async (h) => {
      const loadgen = h.loadgen<ToSends, FromSends>(new URL("./loadgen.ts", import.meta.url));
      h.log(`creating ${options.senders} senders and ${options.rooms} rooms`);
      const setup = await loadgen.request(
        {
          type: "setup",
          config: {
            baseUrl: h.server.baseUrl,
            databaseUrl: h.db.url,
            rooms: options.rooms,
            senders: options.senders,
            withHotRoom: phases.includes("hot") || phases.includes("solo"),
            protocol: options.protocol,
            via: options.via,
            client: options.client,
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
      const failed: string[] = [];
      let connections = 0;
      for (const phase of phases) {
        h.log(`${phase} phase: ${loadOf(options, phase)} for ${options.durationS} s`);
        const cpu0 = cpuSeconds(h.server.pid);
        const { stats, connections: c } = await loadgen.request(
          { type: "phase", phase },
          "phaseDone",
          (2 * options.durationS + options.sendTimeoutS + 120) * 1000,
        );
        const serverCpu = cpuSeconds(h.server.pid) - cpu0;
        connections = c;
        acks.push(...stats.acks);
        failed.push(...stats.failed);
        results.push(phaseResult(stats, serverCpu));
        h.log(`${phase} phase: ${stats.acked} acknowledged, ${stats.failed.length} failed`);
      }
      // Stopped first: calls that timed out on the client may still commit.
      await h.stopProcesses();
      const rooms = [...setup.rooms, ...(setup.hotRoom ? [setup.hotRoom] : [])];
      h.log(`checking ${acks.length} acknowledged messages in ${rooms.length} rooms`);
      const verification = await verifySends(h.db.url, rooms, acks, setup.clientIdPrefix, failed);
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
      const record = makeRecord(h, options, result, problems);
      finish(h, record, rows(options, result), options.save);
    },
  );
}

/** How a phase loads the server. */
function loadOf(o: SendsOptions, phase: SendPhase): string {
  if (phase === "solo") return "one call in flight";
  return o.rate > 0 ? `${o.rate} sends/s` : `saturation, ${o.concurrency} in flight`;
}

function phaseResult(s: PhaseStats, serverCpuSeconds: number): SendsPhaseResult {
  const failed = s.failed.length;
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
    clientCpuMsPerMessage: s.acked > 0 ? (s.clientCpuSeconds * 1000) / s.acked : Number.NaN,
  };
}

/** How messages went: the call, the Chat command, or the writer itself. */
const viaLabel = {
  unary: "unary SendMessage",
  chat: "one Chat stream per sender",
  direct: "RoomWriter.send in the load generator, no RPC",
} as const;

const phaseLabel = (p: SendsPhaseResult) =>
  p.phase === "spread"
    ? `spread (${p.rooms} rooms)`
    : p.phase === "hot"
      ? "hot (1 room)"
      : "solo (1 in flight)";

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
      `${o.senders} / ${o.rooms} + hot room (${o.via === "direct" ? "no connections" : `${o.protocol}, ${r.connections} connections`}, ${viaLabel[o.via]}${o.via === "unary" ? `, ${o.client} client` : ""})`,
    ],
  ];
  for (const p of r.phases) {
    const name = phaseLabel(p);
    const openLoop = o.rate > 0 && p.phase !== "solo";
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
        `${p.clientCpuCores.toFixed(2)} cores, ${fmtMs(p.clientCpuMsPerMessage)} ms/message${openLoop ? `, start lag p99 ${fmtMs(p.startLagMs.p99)} ms` : ""}`,
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

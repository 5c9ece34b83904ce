/**
 * `npm run bench -- fanout`: how fast one server fans room messages out to
 * many Subscribe streams, and what each stream costs. Three processes on
 * the shared harness (lib/harness.ts): the server (lib/server-process.ts),
 * the load generator (loadgen.ts) and this orchestrator, which drives the
 * load generator phase by phase and reads the server's RSS and CPU time
 * from /proc in between, so neither figure includes the clients.
 *
 * Measured: RSS and V8 heap before and after opening the streams, each
 * after a full GC in the server (→ per idle stream); server CPU time,
 * deliveries and latency over the publishing window (first send until the
 * last delivery). Cleans up the load generator, the server and the
 * database on success, failure and Ctrl-C.
 *
 * Then, one after the other in the same run, each peer server of
 * `--peers` (bench/peers/: Socket.IO rooms, a plain `ws` broadcast) is
 * measured the same way: its own process, a fresh load generator, the
 * same phases, subscribers, rooms, message size and publishing, the same
 * /proc readings; the table shows each figure of ours next to theirs.
 */
import { defaultPerSession } from "../clients/client-pool.js";
import { formatProfile, monotonicUs, summarizeProfile } from "../lib/cpu-profile.js";
import { type Harness, streamDescriptors, withHarness } from "../lib/harness.js";
import { cpuSeconds, establishedConnections } from "../lib/proc.js";
import { finish, makeRecord } from "../lib/report.js";
import { type ServerProcess, workersEnv } from "../lib/server-process.js";
import { sleep } from "../lib/timers.js";
import { startPeerServer } from "../peers/peer-process.js";
import { peers, peerVersion } from "../peers/peers.js";
import type { FromFanout, LoadgenConfig, Target, ToFanout } from "./ipc.js";
import type { FanoutOptions } from "./options.js";
import {
  type FanoutRecord,
  type FanoutResult,
  type FanoutSetup,
  fanoutRows,
  formatComparison,
  type PeerRecord,
  problemsOf,
} from "./report.js";

/** Streams per subscriber user: the server's maximum FEED_MAX_STREAMS_PER_USER. */
const streamsPerUser = 1_000;
/** Pause before reading RSS, so allocation bursts of the previous phase settle. */
const settleMs = 2_000;

/** One target measured through its phases. */
interface Measurement {
  setup: FanoutSetup;
  result: FanoutResult;
  /** Publishing window in CLOCK_MONOTONIC µs. */
  publishWindowUs: [number, number];
}

/**
 * Drives a fresh load generator through the phases against `server` (ours
 * or a peer), reading the server's memory and CPU time from outside in
 * between; stops the load generator (not the server) before returning.
 */
async function measure(
  h: Harness,
  target: Target,
  server: ServerProcess,
  options: FanoutOptions,
): Promise<Measurement> {
  const loadgen = h.loadgen<ToFanout, FromFanout>(new URL("./loadgen.ts", import.meta.url), {
    name: `${target} load generator`,
  });
  try {
    const config: LoadgenConfig = {
      target,
      baseUrl: server.baseUrl,
      protocol: options.protocol,
      client: options.client,
      subscribers: options.subscribers,
      rooms: options.rooms,
      rate: options.rate,
      durationMs: options.durationS * 1000,
      concurrency: options.concurrency,
      maxLag: options.maxLag,
      size: options.size,
      drainTimeoutMs: options.drainTimeoutS * 1000,
      streamsPerUser,
    };
    const setup = await loadgen.request({ type: "start", config }, "setupDone", 300_000);
    h.log(
      `${target}: ${setup.users} users and ${setup.rooms} rooms set up; opening ${options.subscribers} ${target === "protochat" ? `${options.protocol} streams (${options.client} client)` : "WebSocket subscribers"}`,
    );
    await sleep(settleMs);
    const memBefore = await server.memory();
    const ready = await loadgen.request(
      { type: "open" },
      "streamsReady",
      60_000 + 100 * options.subscribers,
    );
    await sleep(settleMs);
    const memAfter = await server.memory();
    const serverConnections = establishedConnections(server.port);
    h.log(
      `${target}: ${options.subscribers} subscribers ready in ${(ready.openMs / 1000).toFixed(1)} s; publishing for ${options.durationS} s`,
    );

    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const from = monotonicUs();
    const { result: x } = await loadgen.request(
      { type: "publish" },
      "result",
      (2 * options.durationS + 2 * options.drainTimeoutS + 120) * 1000,
    );
    const cpu1 = cpuSeconds(server.pid);
    const to = monotonicUs();
    const windowSeconds = (performance.now() - t0) / 1000;
    const memEnd = await server.memory();

    const lossless =
      x.subscribersWrong === 0 && !x.drainTimedOut && x.deliveriesExpected === x.deliveriesReceived;
    const serverCpuSeconds = cpu1 - cpu0;
    return {
      publishWindowUs: [from, to],
      setup: {
        users: setup.users,
        rooms: setup.rooms,
        openSeconds: ready.openMs / 1000,
        clientConnections: ready.connections,
        serverConnections,
      },
      result: {
        messagesSent: x.sent,
        sendErrors: x.sendErrors,
        firstSendError: x.firstSendError,
        sendsSkipped: x.sendsSkipped,
        sendRate: x.publishSeconds > 0 ? x.sent / x.publishSeconds : x.sent,
        deliveriesExpected: x.deliveriesExpected,
        deliveriesReceived: x.deliveriesReceived,
        duplicates: x.duplicates,
        gaps: x.gaps,
        streamErrors: x.streamErrors,
        subscribersWrong: x.subscribersWrong,
        wrongExamples: x.wrongExamples,
        drainTimedOut: x.drainTimedOut,
        lossless,
        deliveriesPerSecond: x.deliverySeconds > 0 ? x.deliveriesReceived / x.deliverySeconds : 0,
        latencyMs: x.latency,
        fanoutSpreadMs: x.spread,
        sendRoundTripMs: x.sendLatency,
        otherEvents: x.otherEvents,
        serverCpuSeconds,
        serverCpuPer100kDeliveries: x.deliveriesReceived
          ? (serverCpuSeconds * 100_000) / x.deliveriesReceived
          : Number.NaN,
        serverCpuCores: serverCpuSeconds / windowSeconds,
        clientCpuSeconds: x.clientCpuSeconds,
        clientCpuCores: x.clientCpuSeconds / windowSeconds,
        windowSeconds,
        serverMemoryBeforeStreams: memBefore,
        serverMemoryAfterStreams: memAfter,
        serverMemoryAfterRun: memEnd,
        rssPerIdleStreamKiB: (memAfter.rss - memBefore.rss) / 1024 / options.subscribers,
        heapPerIdleStreamKiB: (memAfter.heapUsed - memBefore.heapUsed) / 1024 / options.subscribers,
      },
    };
  } finally {
    await loadgen.stop();
  }
}

/** Measures peer `name` in its own server process; failures are recorded, not thrown. */
async function measurePeer(
  h: Harness,
  name: FanoutOptions["peers"][number],
  options: FanoutOptions,
): Promise<PeerRecord> {
  const info = { peer: name, label: peers[name].label, version: peerVersion(name) };
  try {
    h.log(`starting the ${name} peer server (${info.label} ${info.version})`);
    const server = await startPeerServer(name);
    h.cleanup.add(`stop ${name} peer server`, () => server.stop());
    h.log(`${name} peer server pid ${server.pid} on ${server.baseUrl}`);
    let m: Measurement;
    try {
      m = await measure(h, name, server, options);
    } catch (err) {
      // A peer that died mid-run shows up as some later failure: say so first.
      const gone = await Promise.race([server.exited, sleep(100).then(() => undefined)]);
      // Exit code 0: stopped by our own cleanup (Ctrl-C), not a crash.
      if (gone === undefined || gone === 0) throw err;
      throw new Error(`the ${name} peer server exited during the run (${gone}): ${String(err)}`);
    } finally {
      await server.stop();
    }
    return {
      ...info,
      server: { logLines: server.output().length, exitCode: await server.exited },
      setup: m.setup,
      result: m.result,
    };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    h.log(`${name} peer failed: ${error}`);
    return { ...info, error };
  }
}

/** Runs one fan-out benchmark (ours, then the peers), prints and stores its result. */
export async function runFanout(options: FanoutOptions): Promise<void> {
  const messagesBound = options.rate > 0 ? options.rate * options.durationS : 1_000_000;
  const serverEnv: Record<string, string> = {
    FEED_MAX_STREAMS_PER_USER: String(streamsPerUser),
    // No subscriber may be cut off for lagging: room for every message of the run.
    FEED_QUEUE_LIMIT: String(Math.min(1_000_000, Math.max(10_000, 2 * messagesBound))),
  };
  Object.assign(serverEnv, workersEnv(options.workers));
  const fdLimit = streamDescriptors(
    options.subscribers,
    options.protocol !== "grpc-h2-multi",
    defaultPerSession,
  );
  await withHarness({ scenario: "fanout", serverEnv, fdLimit }, async (h) => {
    const ours = await measure(h, "protochat", h.server, options);
    await h.stopProcesses();
    const peerRecords: PeerRecord[] = [];
    for (const name of options.peers) {
      await sleep(settleMs);
      peerRecords.push(await measurePeer(h, name, options));
    }
    const problems = [
      ...problemsOf("protochat", ours.result),
      ...peerRecords.flatMap((p) =>
        p.result
          ? problemsOf(p.peer, p.result)
          : [`${p.peer}: not measured: ${(p.error ?? "no result").split("\n")[0]}`],
      ),
    ];
    const base = makeRecord(h, options, ours.result, problems);
    const record: FanoutRecord = {
      ...base,
      server: { ...base.server, publishWindowUs: ours.publishWindowUs },
      setup: ours.setup,
      peers: peerRecords,
    };
    const after = [
      ...(record.peers.length > 0 ? [formatComparison(record)] : []),
      ...busiestProfile(record),
    ];
    finish(h, record, fanoutRows(record), options.save, { after: after.join("\n\n") });
  });
}

/** The busiest thread's profile (main, tsx loader, ...), publishing window only. */
function busiestProfile(r: FanoutRecord): string[] {
  const [from, to] = r.server.publishWindowUs;
  const busiest = r.server.cpuProfiles
    .map((p) => ({ p, s: summarizeProfile(p, { fromUs: from, toUs: to }, 15) }))
    .sort((a, b) => b.s.busyMs - a.s.busyMs)[0];
  return busiest
    ? [`CPU profile ${busiest.p}, publishing window only:\n${formatProfile(busiest.s)}`]
    : [];
}

/**
 * `npm run bench -- fanout`: how fast one server fans room messages out to
 * many Subscribe streams, and what each stream costs. Three processes: the
 * server (bench/server-process.ts), the load generator
 * (bench/fanout-loadgen.ts) and this orchestrator, which drives the load
 * generator phase by phase and reads the server's RSS and CPU time from
 * /proc in between, so neither figure includes the clients.
 *
 * Measured: RSS and V8 heap before and after opening the streams, each
 * after a full GC in the server (→ per idle stream);
 * server CPU time, deliveries and latency over the publishing window (first
 * send until the last delivery). Cleans up the load generator, the server
 * and the database on success, failure and Ctrl-C.
 *
 * Then, one after the other in the same run, each peer server of
 * `--peers` (bench/peers/: Socket.IO rooms, a plain `ws` broadcast) is
 * measured the same way: its own process, a fresh load generator, the
 * same phases, subscribers, rooms, message size and publishing, the same
 * /proc readings; the table shows each figure of ours next to theirs.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchDatabase } from "./bench-database.js";
import { Cleanup, withTimeout } from "./cleanup.js";
import {
  cpuProfileDir,
  formatProfile,
  monotonicUs,
  profilesSince,
  summarizeProfile,
} from "./cpu-profile.js";
import type { FromLoadgen, LoadgenConfig, Target, ToLoadgen } from "./fanout-ipc.js";
import type { FanoutOptions } from "./fanout-options.js";
import { loadAverage, machineInfo } from "./machine.js";
import { startPeerServer } from "./peers/peer-process.js";
import { peers, peerVersion } from "./peers/peers.js";
import { cpuSeconds, establishedConnections } from "./proc.js";
import { appendRecord, type FanoutRecord, formatRecord, type PeerRecord } from "./report.js";
import { repoRoot, type ServerProcess, startServer } from "./server-process.js";

/** Streams per subscriber user: the server's maximum FEED_MAX_STREAMS_PER_USER. */
const streamsPerUser = 1_000;
/** Pause before reading RSS, so allocation bursts of the previous phase settle. */
const settleMs = 2_000;

/** The load generator process, spoken to one phase at a time. */
class Loadgen {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private waiting: ((msg: FromLoadgen | Error) => void) | undefined;

  constructor(readonly target: Target) {
    this.child = fork(fileURLToPath(new URL("./fanout-loadgen.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (msg: FromLoadgen) => this.waiting?.(msg));
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.waiting?.(new Error(`the load generator exited (${code ?? signal})`));
        resolve();
      });
    });
  }

  /** Sends `msg` and waits for the reply of type `type`. */
  async request<T extends FromLoadgen["type"]>(
    msg: ToLoadgen,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromLoadgen, { type: T }>> {
    const reply = new Promise<FromLoadgen>((resolve, reject) => {
      this.waiting = (m) => {
        this.waiting = undefined;
        if (m instanceof Error) reject(m);
        else if (m.type === "error")
          reject(new Error(`${this.target} load generator: ${m.message}`));
        else resolve(m);
      };
    });
    this.child.send(msg);
    const m = await withTimeout(reply, timeoutMs, `${this.target} load generator "${msg.type}"`);
    if (m.type !== type) throw new Error(`load generator answered ${m.type}, expected ${type}`);
    return m as Extract<FromLoadgen, { type: T }>;
  }

  /** Asks it to close its streams and exit; kills it if it does not. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: "close" } satisfies ToLoadgen);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function log(line: string): void {
  process.stderr.write(`[fanout] ${line}\n`);
}

/** One target measured through its phases. */
interface Measurement {
  setup: FanoutRecord["setup"];
  result: FanoutRecord["result"];
  /** Publishing window in CLOCK_MONOTONIC µs. */
  publishWindowUs: [number, number];
}

/**
 * Drives a fresh load generator through the phases against `server` (ours
 * or a peer), reading the server's memory and CPU time from outside in
 * between; stops the load generator (not the server) before returning.
 */
async function measure(
  target: Target,
  server: ServerProcess,
  options: FanoutOptions,
  cleanup: Cleanup,
): Promise<Measurement> {
  const loadgen = new Loadgen(target);
  cleanup.add(`stop ${target} load generator`, () => loadgen.stop());
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
    log(
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
    log(
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
  name: FanoutOptions["peers"][number],
  options: FanoutOptions,
  cleanup: Cleanup,
): Promise<PeerRecord> {
  const info = { peer: name, label: peers[name].label, version: peerVersion(name) };
  try {
    log(`starting the ${name} peer server (${info.label} ${info.version})`);
    const server = await startPeerServer(name);
    cleanup.add(`stop ${name} peer server`, () => server.stop());
    log(`${name} peer server pid ${server.pid} on ${server.baseUrl}`);
    let m: Measurement;
    try {
      m = await measure(name, server, options, cleanup);
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
    log(`${name} peer failed: ${error}`);
    return { ...info, error };
  }
}

/** Runs one fan-out benchmark (ours, then the peers) and prints (and stores) its result. */
export async function runFanout(options: FanoutOptions): Promise<FanoutRecord> {
  const cleanup = new Cleanup();
  const removeSignalHandlers = cleanup.onSignals();
  try {
    const machine = machineInfo(repoRoot);
    const db = benchDatabase();
    cleanup.add("drop database", async () => {
      await db.drop();
      log(`dropped database ${db.name}`);
    });
    const nodeOptions = (process.env.SERVER_NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean);
    const messagesBound = options.rate > 0 ? options.rate * options.durationS : 1_000_000;
    const serverEnv = {
      FEED_MAX_STREAMS_PER_USER: String(streamsPerUser),
      // No subscriber may be cut off for lagging: room for every message of the run.
      FEED_QUEUE_LIMIT: String(Math.min(1_000_000, Math.max(10_000, 2 * messagesBound))),
    };
    const startedAt = Date.now();
    log(
      `starting the server (database ${db.name}${nodeOptions.length ? `, node ${nodeOptions.join(" ")}` : ""})`,
    );
    const server = await startServer({ databaseUrl: db.url, env: serverEnv, nodeOptions });
    cleanup.add("stop server", () => server.stop());
    log(`server pid ${server.pid} on ${server.baseUrl}`);

    const ours = await measure("protochat", server, options, cleanup);
    await server.stop();
    const exitCode = await server.exited;
    const profiles = nodeOptions.some((o) => o.startsWith("--cpu-prof"))
      ? profilesSince(cpuProfileDir(nodeOptions, repoRoot), startedAt)
      : [];

    const peerRecords: PeerRecord[] = [];
    for (const name of options.peers) {
      await sleep(settleMs);
      peerRecords.push(await measurePeer(name, options, cleanup));
    }
    const loadAfter = loadAverage();

    const x = ours.result;
    const [from, to] = ours.publishWindowUs;
    const record: FanoutRecord = {
      bench: "fanout",
      schema: 1,
      date: machine.date,
      machine,
      options,
      server: {
        nodeOptions,
        env: serverEnv,
        logLines: server.output().length,
        exitCode,
        cpuProfiles: profiles,
        publishWindowUs: ours.publishWindowUs,
      },
      setup: ours.setup,
      result: x,
      peers: peerRecords,
      loadAverageAfter: loadAfter,
    };
    process.stdout.write(`\n${formatRecord(record)}\n`);
    const warnings = server.output();
    if (warnings.length > 0) {
      const shown = warnings.slice(0, 5).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
      process.stdout.write(
        `\nserver output (first 5 of ${warnings.length} lines, cut at 300 characters):\n${shown.join("\n")}\n`,
      );
    }
    // One profile per thread (main, tsx loader, ...): show the busiest.
    const busiest = profiles
      .map((p) => ({ p, s: summarizeProfile(p, { fromUs: from, toUs: to }, 15) }))
      .sort((a, b) => b.s.busyMs - a.s.busyMs)[0];
    if (busiest) {
      process.stdout.write(`\nCPU profile ${busiest.p}, publishing window only:\n`);
      process.stdout.write(`${formatProfile(busiest.s)}\n`);
    }
    if (options.save) log(`appended to ${appendRecord(repoRoot, record)}`);
    const peersFailed = peerRecords.some((p) => {
      const y = p.result;
      return y === undefined || !y.lossless || y.sendErrors > 0 || y.sendsSkipped > 0;
    });
    if (!x.lossless || x.sendErrors > 0 || x.sendsSkipped > 0 || peersFailed) process.exitCode = 1;
    return record;
  } finally {
    removeSignalHandlers();
    await cleanup.run();
  }
}

/**
 * The storm load generator, a child process of orchestrator.ts: creates
 * the accounts and rooms, then starts every Subscribe call in one go (or
 * evenly over --spread-ms), waits for each `ready` or failure, keeps the
 * streams open for --hold seconds and reports.
 */
import { measureClientLoad } from "../clients/client-load.js";
import { FeedSetup, type StreamGroup, settledWithin } from "../clients/feed-setup.js";
import { failuresByCode, topFailureMessages } from "../clients/feed-stream.js";
import { Histogram } from "../lib/histogram.js";
import { serveLoadgen } from "../lib/loadgen-process.js";
import { sleep } from "../lib/timers.js";
import type { FromStorm, HoldStats, StormStats, ToStorm } from "./ipc.js";
import type { StormOptions } from "./options.js";

let setup: FeedSetup | undefined;
let options: StormOptions | undefined;
let group: StreamGroup | undefined;

async function storm(o: StormOptions, s: FeedSetup): Promise<StormStats> {
  const g = s.newGroup();
  group = g;
  const streams = Array.from({ length: o.subscribers }, () => g.add());
  const timeoutMs = o.timeoutS * 1000;
  const clientLoad = measureClientLoad();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const waits: Promise<void>[] = [];
  if (o.spreadMs === 0) {
    for (const st of streams) {
      g.start(st);
      waits.push(settledWithin(st, timeoutMs));
    }
  } else {
    streams.forEach((st, i) => {
      waits.push(
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              g.start(st);
              settledWithin(st, timeoutMs).then(resolve);
            },
            (i * o.spreadMs) / o.subscribers,
          );
        }),
      );
    });
  }
  const startSeconds = o.spreadMs === 0 ? (performance.now() - t0) / 1000 : o.spreadMs / 1000;
  const startCpu = process.cpuUsage(cpu0);
  const startCpuSeconds = o.spreadMs === 0 ? (startCpu.user + startCpu.system) / 1e6 : Number.NaN;
  await Promise.all(waits);
  const load = clientLoad();
  const ttr = new Histogram();
  let lastReady = Number.NaN;
  let ready = 0;
  for (const st of streams) {
    if (!st.ready) continue;
    ready += 1;
    ttr.record(st.readyAtMs - st.startedAtMs);
    if (!(st.readyAtMs <= lastReady)) lastReady = st.readyAtMs;
  }
  const failed = streams.filter((st) => st.failure && !st.failure.afterReady);
  return {
    started: streams.length,
    ready,
    failedBeforeReady: failed.length,
    errorsByCode: failuresByCode(failed),
    topErrors: topFailureMessages(failed),
    timeToReady: ttr.summary(),
    allReadySeconds: (lastReady - t0) / 1000,
    startSeconds,
    startCpuSeconds,
    connections: g.calls.connections(),
    ...load,
  };
}

async function hold(o: StormOptions, g: StreamGroup): Promise<HoldStats> {
  await sleep(o.holdS * 1000);
  const dropped = g.streams.filter((st) => st.failure?.afterReady);
  return {
    droppedAfterReady: dropped.length,
    droppedByCode: failuresByCode(dropped),
    aliveAtEnd: g.streams.filter((st) => st.ready && !st.failure).length,
    otherEvents: g.streams.reduce((n, st) => n + st.otherEvents, 0),
  };
}

serveLoadgen<ToStorm, FromStorm>(
  async (msg) => {
    switch (msg.type) {
      case "setup":
        options = msg.options;
        setup = await FeedSetup.create(msg.baseUrl, "storm", options.subscribers, options);
        return setup.done();
      case "storm":
        if (!setup || !options) throw new Error("storm before setup");
        return { type: "stormDone", stats: await storm(options, setup) };
      case "hold":
        if (!group || !options) throw new Error("hold before storm");
        return { type: "holdDone", stats: await hold(options, group) };
    }
  },
  async () => {
    await group?.close();
    setup?.control.close();
  },
);

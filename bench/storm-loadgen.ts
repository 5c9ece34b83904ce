/**
 * The storm load generator, a child process of bench/storm.ts: creates
 * the accounts and rooms, then starts every Subscribe call in one go (or
 * evenly over --spread-ms), waits for each `ready` or failure, keeps the
 * streams open for --hold seconds and reports.
 */

import { type ClientLoad, measureClientLoad } from "./client-load.js";
import {
  type FeedSetup,
  newStreamGroup,
  type SetupDone,
  type StreamGroup,
  settledWithin,
  setUpFeeds,
  setupDone,
  sleep,
} from "./feed-setup.js";
import { failuresByCode, topFailureMessages } from "./feed-stream.js";
import type { LatencySummary } from "./histogram.js";
import { Histogram } from "./histogram.js";
import { serveLoadgen } from "./loadgen-process.js";
import type { StormOptions } from "./storm-options.js";

/** Orchestrator → load generator. */
export type ToStorm =
  | { type: "setup"; baseUrl: string; options: StormOptions }
  | { type: "storm" }
  | { type: "hold" };

/** What the storm measured (client load: from the first call until every call settled). */
export interface StormStats extends ClientLoad {
  started: number;
  ready: number;
  /** Failed before ready (errors and timeouts). */
  failedBeforeReady: number;
  errorsByCode: Record<string, number>;
  topErrors: { message: string; count: number }[];
  /** Call start → ready, per stream. */
  timeToReady: LatencySummary;
  /** Storm start → the last ready. */
  allReadySeconds: number;
  /** Time to start every call (the loop itself, or --spread-ms). */
  startSeconds: number;
  connections: number;
}

/** After the hold. */
export interface HoldStats {
  /** Ready streams that ended during the hold. */
  droppedAfterReady: number;
  droppedByCode: Record<string, number>;
  aliveAtEnd: number;
  otherEvents: number;
}

/** Load generator → orchestrator. */
export type FromStorm =
  | SetupDone
  | { type: "stormDone"; stats: StormStats }
  | { type: "holdDone"; stats: HoldStats };

let setup: FeedSetup | undefined;
let options: StormOptions | undefined;
let group: StreamGroup | undefined;

async function storm(o: StormOptions, s: FeedSetup): Promise<StormStats> {
  const g = newStreamGroup(s, o);
  group = g;
  const streams = Array.from({ length: o.subscribers }, () => g.add());
  const timeoutMs = o.timeoutS * 1000;
  const clientLoad = measureClientLoad();
  const t0 = performance.now();
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
    connections: g.pool.connections(),
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
        setup = await setUpFeeds(msg.baseUrl, "storm", options.subscribers, options);
        return setupDone(setup);
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

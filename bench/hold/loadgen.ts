/**
 * The hold load generator, a child process of orchestrator.ts: opens idle
 * feed streams step by step (each step: `count` more, at most
 * --open-concurrency opens in flight, each until `ready` or failure) and
 * keeps them open; reports failures, drops of earlier streams and its own
 * memory after a full GC (run with --expose-gc).
 */
import { measureClientLoad } from "../clients/client-load.js";
import { FeedSetup, type StreamGroup } from "../clients/feed-setup.js";
import { failuresByCode, topFailureMessages } from "../clients/feed-stream.js";
import { serveLoadgen } from "../lib/loadgen-process.js";
import type { FromHold, HoldStatus, StepStats, ToHold } from "./ipc.js";
import type { HoldOptions } from "./options.js";

let options: HoldOptions | undefined;
let setup: FeedSetup | undefined;
let group: StreamGroup | undefined;

function status(g: StreamGroup): HoldStatus {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  let alive = 0;
  let failedToOpen = 0;
  let dropped = 0;
  let heartbeats = 0;
  let otherEvents = 0;
  for (const s of g.streams) {
    if (s.failure) {
      if (s.failure.afterReady) dropped += 1;
      else failedToOpen += 1;
    } else if (s.ready) alive += 1;
    heartbeats += s.heartbeats;
    otherEvents += s.otherEvents;
  }
  const failed = g.streams.filter((s) => s.failure);
  return {
    started: g.runs.length,
    alive,
    failedToOpen,
    dropped,
    failuresByCode: failuresByCode(failed),
    topFailures: topFailureMessages(failed),
    heartbeats,
    otherEvents,
    connections: g.calls.connections(),
    clientRss: m.rss,
    clientHeapUsed: m.heapUsed,
  };
}

async function step(o: HoldOptions, g: StreamGroup, count: number): Promise<StepStats> {
  const streams = Array.from({ length: count }, () => g.add());
  const clientLoad = measureClientLoad();
  const t0 = performance.now();
  await g.open(streams, o.openConcurrency, o.openTimeoutS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const load = clientLoad();
  const ready = streams.filter((s) => s.ready && !s.failure).length;
  return {
    opened: count,
    ready,
    failedInStep: streams.filter((s) => s.failure && !s.failure.afterReady).length,
    seconds,
    ...load,
    status: status(g),
  };
}

serveLoadgen<ToHold, FromHold>(
  async (msg) => {
    switch (msg.type) {
      case "setup": {
        options = msg.options;
        setup = await FeedSetup.create(msg.baseUrl, "hold", options.streams, options);
        group = setup.newGroup();
        return setup.done();
      }
      case "step":
        if (!options || !group) throw new Error("step before setup");
        return { type: "stepDone", stats: await step(options, group, msg.count) };
      case "status":
        if (!group) throw new Error("status before setup");
        return { type: "statusDone", status: status(group) };
    }
  },
  async () => {
    await group?.close();
    setup?.control.close();
  },
);

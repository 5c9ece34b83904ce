/**
 * The resume load generator, a child process of orchestrator.ts:
 *
 *   open        N streams (every account in every room), each waits for ready
 *   disconnect  abort every stream and close every connection; wait until
 *               the server has closed its ends
 *   advance     E messages per room (owner, one room after another in
 *               parallel rooms), acknowledged
 *   reconnect   N Subscribe calls started at once, each with its last seq
 *               per room; meanwhile L more messages per room (one every
 *               --live-interval ms), so some arrive while streams are still
 *               replaying; waits until
 *               every stream has every event up to the final heads
 *
 * Per stream and room the events must arrive as last + 1, from the
 * stream's own position to the final head, with no reset (see
 * clients/feed-stream.ts).
 */
import { createClient } from "@connectrpc/connect";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { auth, mapLimit } from "../clients/accounts.js";
import { measureClientLoad } from "../clients/client-load.js";
import { FeedSetup, type StreamGroup, settledWithin } from "../clients/feed-setup.js";
import { type FeedStream, failuresByCode, topFailureMessages } from "../clients/feed-stream.js";
import { Histogram } from "../lib/histogram.js";
import { logToParent, serveLoadgen } from "../lib/loadgen-process.js";
import { establishedConnections } from "../lib/proc.js";
import { sleep } from "../lib/timers.js";
import type { FromResume, ReconnectStats, ToResume } from "./ipc.js";
import type { ResumeOptions } from "./options.js";

let options: ResumeOptions | undefined;
let setup: FeedSetup | undefined;
let first: StreamGroup | undefined;
let second: StreamGroup | undefined;
/** Per first-connection stream that got ready: its last seq per room. */
let positions: { index: number; rooms: { roomId: bigint; lastSeq: bigint }[] }[] = [];
/** Room heads after the advance. */
let targets = new Map<bigint, bigint>();

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} first`);
  return v;
}

async function open(o: ResumeOptions, s: FeedSetup) {
  const g = s.newGroup();
  first = g;
  const streams = Array.from({ length: o.subscribers }, () => g.add());
  const t0 = performance.now();
  await g.open(streams, o.openConcurrency, 60_000);
  const ready = streams.filter((st) => st.ready && !st.failure);
  return {
    ready: ready.length,
    failed: streams.length - ready.length,
    openSeconds: (performance.now() - t0) / 1000,
    connections: g.calls.connections(),
  };
}

async function disconnect(s: FeedSetup, g: StreamGroup) {
  positions = g.streams
    .filter((st) => st.ready && !st.failure)
    .map((st) => ({
      index: st.index,
      rooms: s.rooms.map((roomId) => ({ roomId, lastSeq: (st.nextSeq(roomId) ?? 1n) - 1n })),
    }));
  const t0 = performance.now();
  await g.close();
  // Until the server has closed its ends of the stream connections (the
  // control session stays).
  const port = Number(new URL(s.baseUrl).port);
  let left = establishedConnections(port);
  while (left > 1 && performance.now() - t0 < 15_000) {
    await sleep(100);
    left = establishedConnections(port);
  }
  return { serverConnectionsLeft: left - 1, seconds: (performance.now() - t0) / 1000 };
}

/** `perRoom` messages in every room, each room's in order, rooms in parallel. */
async function sendToRooms(s: FeedSetup, perRoom: number, label: string, intervalMs = 0) {
  const client = createClient(MessageService, s.control.transportFor(0));
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  await mapLimit(s.rooms, 8, async (roomId, r) => {
    for (let k = 0; k < perRoom; k++) {
      if (k > 0 && intervalMs > 0) await sleep(intervalMs);
      try {
        await client.sendMessage(
          {
            roomId,
            text: `resume ${label} ${k}`,
            clientMsgId: `resume-${s.runId}-${label}-${r}-${k}`,
          },
          { ...auth(s.owner.token), timeoutMs: 30_000 },
        );
        sent += 1;
      } catch (err) {
        errors += 1;
        firstError ??= String(err);
      }
    }
  });
  if (firstError) logToParent(`${label}: ${errors} sends failed, first: ${firstError}`);
  return { sent, errors };
}

async function advance(o: ResumeOptions, s: FeedSetup) {
  const t0 = performance.now();
  const r = await sendToRooms(s, o.events, "away");
  targets = await s.heads();
  return {
    ...r,
    seconds: (performance.now() - t0) / 1000,
    heads: s.rooms.map((id) => targets.get(id) ?? 0n),
  };
}

async function reconnect(o: ResumeOptions, s: FeedSetup): Promise<ReconnectStats> {
  const g = s.newGroup();
  second = g;
  // Same stream numbers as before (same accounts), positions as they were.
  const byIndex = new Map(positions.map((p) => [p.index, p.rooms]));
  const streams: FeedStream[] = [];
  for (let i = 0; i < o.subscribers; i++) {
    const pos = byIndex.get(i);
    const st = g.add(pos ?? [], targets);
    if (pos) streams.push(st);
  }
  const deadline = performance.now() + o.timeoutS * 1000;
  const clientLoad = measureClientLoad();
  const t0 = performance.now();
  for (const st of streams) g.start(st);
  const live = sendToRooms(s, o.live, "live", o.liveIntervalMs);
  const readyWaits = streams.map((st) => settledWithin(st, o.timeoutS * 1000));
  const liveResult = await live;
  const finalHeads = await s.heads();
  const complete = (st: FeedStream) =>
    s.rooms.every((r) => (st.nextSeq(r) ?? 0n) > (finalHeads.get(r) ?? 0n));
  const pending = () => streams.some((st) => !st.failure && !complete(st));
  while (pending() && performance.now() < deadline) await sleep(20);
  const timedOut = pending();
  const lastCompleteAt = performance.now();
  await Promise.all(readyWaits);
  const load = clientLoad();
  // Late duplicates would show now.
  await sleep(250);

  const ttr = new Histogram();
  const ttc = new Histogram();
  let lastCaughtUp = Number.NaN;
  let replayedEvents = 0;
  let roomEventsReceived = 0;
  let wrong = 0;
  let incomplete = 0;
  const wrongExamples: string[] = [];
  const sum = { duplicates: 0, gaps: 0, resets: 0, foreign: 0 };
  for (const st of streams) {
    if (st.ready) ttr.record(st.readyAtMs - st.startedAtMs);
    if (st.caughtUp) {
      ttc.record(st.caughtUpAtMs - st.startedAtMs);
      if (!(st.caughtUpAtMs <= lastCaughtUp)) lastCaughtUp = st.caughtUpAtMs;
    }
    roomEventsReceived += st.roomEvents;
    let expected = 0;
    for (const p of st.positions) {
      replayedEvents += Number((targets.get(p.roomId) ?? 0n) - p.lastSeq);
      expected += Number((finalHeads.get(p.roomId) ?? 0n) - p.lastSeq);
    }
    sum.duplicates += st.duplicates;
    sum.gaps += st.gaps;
    sum.resets += st.resets;
    sum.foreign += st.foreign;
    const done = st.ready && complete(st);
    if (st.ready && !done && !st.failure) incomplete += 1;
    const ok =
      done &&
      !st.failure &&
      st.duplicates === 0 &&
      st.gaps === 0 &&
      st.resets === 0 &&
      st.foreign === 0 &&
      st.roomEvents === expected;
    if (!ok) {
      wrong += 1;
      if (wrongExamples.length < 5) {
        const at = s.rooms
          .map((r) => `room ${r} next ${st.nextSeq(r) ?? "-"}/${(finalHeads.get(r) ?? 0n) + 1n}`)
          .join(", ");
        wrongExamples.push(
          `#${st.index}: ${st.ready ? "ready" : "not ready"}, ${at}, events ${st.roomEvents}/${expected}, duplicates ${st.duplicates}, gaps ${st.gaps}, resets ${st.resets}${st.failure ? `, ${st.failure.code}: ${st.failure.message.slice(0, 120)}` : ""}`,
        );
      }
    }
  }
  const failed = streams.filter((st) => st.failure);
  return {
    streams: streams.length,
    ready: streams.filter((st) => st.ready).length,
    caughtUp: streams.filter((st) => st.caughtUp).length,
    complete: streams.length - wrong,
    wrong,
    wrongExamples,
    ...sum,
    incomplete,
    errorsByCode: failuresByCode(failed),
    topErrors: topFailureMessages(failed),
    timeToReady: ttr.summary(),
    timeToCaughtUp: ttc.summary(),
    allCaughtUpSeconds: (lastCaughtUp - t0) / 1000,
    allCompleteSeconds: (lastCompleteAt - t0) / 1000,
    replayedEvents,
    roomEventsReceived,
    liveSent: liveResult.sent,
    liveErrors: liveResult.errors,
    timedOut,
    connections: g.calls.connections(),
    ...load,
  };
}

serveLoadgen<ToResume, FromResume>(
  async (msg) => {
    switch (msg.type) {
      case "setup":
        options = msg.options;
        setup = await FeedSetup.create(msg.baseUrl, "resume", options.subscribers, options);
        return setup.done();
      case "open":
        return { type: "opened", ...(await open(need(options, "setup"), need(setup, "setup"))) };
      case "disconnect":
        return {
          type: "disconnected",
          ...(await disconnect(need(setup, "setup"), need(first, "open"))),
        };
      case "advance":
        return {
          type: "advanced",
          ...(await advance(need(options, "setup"), need(setup, "setup"))),
        };
      case "reconnect":
        return {
          type: "reconnected",
          stats: await reconnect(need(options, "setup"), need(setup, "setup")),
        };
    }
  },
  async () => {
    await first?.close(1_000);
    await second?.close();
    setup?.control.close();
  },
);

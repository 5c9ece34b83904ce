/**
 * The fan-out load generator, a child process of orchestrator.ts (never
 * the server's process): sets up the target (our server: accounts and
 * rooms; a peer server, bench/peers/: the publisher's connection), opens
 * the subscribers, publishes, and checks every delivery, the same way for
 * every target. Driven phase by phase over IPC (ipc.ts,
 * lib/loadgen-process.ts); exits when told to close or when its parent
 * goes away.
 *
 * Our server's subscribers are Subscribe streams of the `--client` kind
 * (bench/README.md, "Subscriber client"): lean
 * (clients/lean-subscriber.ts) or the generated SDK
 * (clients/subscriber-pool.ts).
 *
 * Accounts on our server: one publisher, who creates every room; per room
 * as many subscriber users as the server's per-user stream limit
 * requires, each joined to that room only, so each stream carries exactly
 * one room.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService } from "../../gen/chat/v1/room_pb.js";
import { type Account, auth, createAccount, createRoom } from "../clients/accounts.js";
import { controlTransport } from "../clients/client-pool.js";
import type { CheckedSubscriber } from "../clients/subscriber.js";
import { subscriberPool } from "../clients/subscriber-pool.js";
import { Histogram } from "../lib/histogram.js";
import { serveLoadgen } from "../lib/loadgen-process.js";
import { sleep } from "../lib/timers.js";
import { peerTarget } from "../peers/peer-clients.js";
import { DeliveryTracker } from "./delivery-tracker.js";
import type { DeliveryCheck, FromFanout, LoadgenConfig, LoadgenResult, ToFanout } from "./ipc.js";
import { type PublishPlan, publishAtRate, publishSaturated } from "./publisher.js";
import { type LoadTarget, subscribersPerRoom } from "./target.js";

/** Subscribers being opened at the same time. */
const openConcurrency = 50;
/** After the last expected delivery, how long to keep listening for duplicates. */
const lateGraceMs = 250;

/** Everything set up before subscribers open. */
interface Setup {
  config: LoadgenConfig;
  target: LoadTarget;
}

/** Subscribers opened. */
interface Opened {
  abort: AbortController;
  subscribers: CheckedSubscriber[];
  runs: Promise<void>[];
  latency: Histogram;
  spread: Histogram;
  tracker: DeliveryTracker;
  lastDeliveryAt: { value: number };
}

/**
 * Our server: accounts and rooms (nothing is streaming yet); subscribers
 * are Subscribe streams, sends are SendMessage calls over one gRPC session.
 */
async function protochatTarget(config: LoadgenConfig): Promise<LoadTarget> {
  const control = controlTransport(config.baseUrl);
  const authClient = createClient(AuthService, control.transport);
  const roomClient = createClient(RoomService, control.transport);
  const messageClient = createClient(MessageService, control.transport);
  const runId = randomBytes(3).toString("hex");
  const publisher = await createAccount(authClient, `fanout_${runId}_pub`);
  const rooms: bigint[] = [];
  const plan: { roomId: bigint; account: Account }[] = [];
  const perRoom = subscribersPerRoom(config.subscribers, config.rooms);
  for (let r = 0; r < config.rooms; r++) {
    const roomId = await createRoom(control.transport, publisher, `fanout ${runId} ${r}`);
    rooms.push(roomId);
    const streams = perRoom[r] ?? 0;
    for (let u = 0; u * config.streamsPerUser < streams; u++) {
      const sub = await createAccount(authClient, `fanout_${runId}_r${r}_${u}`);
      await roomClient.joinRoom({ roomId }, auth(sub.token));
      const n = Math.min(config.streamsPerUser, streams - u * config.streamsPerUser);
      for (let k = 0; k < n; k++) plan.push({ roomId, account: sub });
    }
  }
  const pool = subscriberPool(config.client, config.protocol, config.baseUrl);
  const idPrefix = `fanout-${runId}`;
  return {
    users: new Set(plan.map((p) => p.account)).size + 1,
    rooms,
    roomOf: plan.map((p) => p.roomId),
    subscriber(i, sink) {
      const p = plan[i];
      if (!p) throw new Error(`no subscriber ${i}`);
      return pool.subscriber(i, p.roomId, p.account.token, sink);
    },
    async roomBase(roomId) {
      const res = await roomClient.getRoom({ roomId }, auth(publisher.token));
      return res.room?.lastSeq ?? 0n;
    },
    connections: () => pool.connections(),
    async send(roomId, text, i) {
      await messageClient.sendMessage(
        { roomId, text, clientMsgId: `${idPrefix}-${i}` },
        auth(publisher.token),
      );
    },
    close() {
      pool.close();
      control.close();
    },
  };
}

/** Opens every subscriber and waits until each is ready. */
async function openSubscribers(setup: Setup): Promise<Opened> {
  const { target } = setup;
  const abort = new AbortController();
  // Every subscriber listens to this one signal.
  setMaxListeners(0, abort.signal);
  const latency = new Histogram();
  const spread = new Histogram();
  const tracker = new DeliveryTracker();
  const lastDeliveryAt = { value: Number.NaN };
  const sink = {
    onMessage(roomId: bigint, seq: bigint, latencyMs: number, receivedAtMs: number) {
      latency.record(latencyMs);
      spread.record(tracker.delivered(roomId, seq, receivedAtMs));
      lastDeliveryAt.value = receivedAtMs;
    },
  };
  const subscribers = target.roomOf.map((_, i) => target.subscriber(i, sink));
  const runs: Promise<void>[] = [];
  let next = 0;
  const opener = async () => {
    for (let i = next++; i < subscribers.length; i = next++) {
      const s = subscribers[i];
      if (!s) continue;
      runs.push(s.run(abort.signal));
      await s.ready;
    }
  };
  await Promise.all(Array.from({ length: openConcurrency }, opener));
  // Every room's position now: the run's messages follow it.
  for (const roomId of target.rooms) {
    const count = subscribers.filter((s) => s.roomId === roomId).length;
    tracker.addRoom(roomId, count, await target.roomBase(roomId, subscribers));
  }
  return { abort, subscribers, runs, latency, spread, tracker, lastDeliveryAt };
}

/** Publishes, waits for the deliveries, and checks every subscriber. */
async function publish(setup: Setup, opened: Opened): Promise<LoadgenResult> {
  const { config, target } = setup;
  const cpu0 = process.cpuUsage();
  const plan: PublishPlan = {
    rooms: target.rooms,
    durationMs: config.durationMs,
    size: config.size,
    send: (roomId, text, i) => target.send(roomId, text, i),
  };
  const stats =
    config.rate > 0
      ? await publishAtRate(plan, config.rate)
      : await publishSaturated(
          plan,
          config.concurrency,
          opened.tracker,
          config.maxLag,
          config.drainTimeoutMs,
        );

  // Drain: until every live subscriber has its room's messages, or time is up.
  const expectedOf = (s: CheckedSubscriber) => stats.sentPerRoom.get(s.roomId) ?? 0;
  const drained = () =>
    opened.subscribers.every((s) => s.error !== undefined || s.received >= expectedOf(s));
  const deadline = performance.now() + config.drainTimeoutMs;
  while (!drained() && performance.now() < deadline) await sleep(20);
  const drainTimedOut = !drained();
  const lastDeliveryAt = opened.lastDeliveryAt.value;
  const cpu = process.cpuUsage(cpu0);
  await sleep(lateGraceMs);

  const check = checkSubscribers(opened.subscribers, expectedOf, drainTimedOut);
  return {
    sent: stats.sent,
    sendErrors: stats.errors,
    firstSendError: stats.firstError,
    sendsSkipped: stats.skipped,
    publishSeconds: (stats.lastSendAt - stats.firstSendAt) / 1000,
    deliverySeconds: (lastDeliveryAt - stats.firstSendAt) / 1000,
    sendLatency: stats.roundTrip.summary(),
    latency: opened.latency.summary(),
    spread: opened.spread.summary(),
    ...check,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * Sums the subscribers' checks; a subscriber is wrong unless it got
 * exactly its room's acknowledged messages, once each, in order, and its
 * stream did not end.
 */
function checkSubscribers(
  subscribers: readonly CheckedSubscriber[],
  expectedOf: (s: CheckedSubscriber) => number,
  drainTimedOut: boolean,
): DeliveryCheck {
  const c: DeliveryCheck = {
    deliveriesExpected: 0,
    deliveriesReceived: 0,
    duplicates: 0,
    gaps: 0,
    streamErrors: 0,
    subscribersWrong: 0,
    wrongExamples: [],
    drainTimedOut,
    otherEvents: 0,
  };
  for (const s of subscribers) {
    const want = expectedOf(s);
    c.deliveriesExpected += want;
    c.deliveriesReceived += s.received;
    c.duplicates += s.duplicates;
    c.gaps += s.gaps;
    c.otherEvents += s.otherEvents;
    if (s.error !== undefined) c.streamErrors += 1;
    if (s.error !== undefined || s.received !== want || s.duplicates || s.gaps || s.foreign) {
      c.subscribersWrong += 1;
      if (c.wrongExamples.length < 5) {
        c.wrongExamples.push(
          `#${s.index}: received ${s.received}/${want}, duplicates ${s.duplicates}, gaps ${s.gaps}, foreign ${s.foreign}${s.error ? `, error ${s.error}` : ""}`,
        );
      }
    }
  }
  return c;
}

let setup: Setup | undefined;
let opened: Opened | undefined;

serveLoadgen<ToFanout, FromFanout>(
  async (msg) => {
    switch (msg.type) {
      case "start": {
        const config = msg.config;
        const target =
          config.target === "protochat"
            ? await protochatTarget(config)
            : await peerTarget(config.target, config);
        setup = { config, target };
        return { type: "setupDone", users: target.users, rooms: target.rooms.length };
      }
      case "open": {
        if (!setup) throw new Error("open before start");
        const t0 = performance.now();
        opened = await openSubscribers(setup);
        return {
          type: "streamsReady",
          openMs: performance.now() - t0,
          connections: setup.target.connections(),
        };
      }
      case "publish":
        if (!setup || !opened) throw new Error("publish before open");
        return { type: "result", result: await publish(setup, opened) };
    }
  },
  // Closes subscribers and connections.
  async () => {
    if (opened) {
      opened.abort.abort();
      await Promise.race([Promise.allSettled(opened.runs), sleep(5_000)]);
    }
    setup?.target.close();
  },
);

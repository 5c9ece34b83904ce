/**
 * The fan-out load generator, a child process of bench/fanout.ts (never
 * the server's process): sets up the target (our server: accounts and
 * rooms; a peer server, bench/peers/: the publisher's connection), opens
 * the subscribers, publishes, and checks every delivery, the same way for
 * every target. Driven phase by phase over IPC (see bench/fanout-ipc.ts);
 * exits when told to close or when its parent goes away.
 *
 * Our server's subscribers are Subscribe streams of the `--client` kind
 * (bench/README.md ("Subscriber client")): lean (bench/lean-subscriber.ts) or the generated SDK
 * (bench/transports.ts).
 *
 * Accounts on our server: one publisher, who creates every room; per room
 * as many subscriber users as the server's per-user stream limit
 * requires, each joined to that room only, so each stream carries exactly
 * one room.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { type Client, createClient } from "@connectrpc/connect";
import { AuthService } from "../gen/chat/v1/auth_pb.js";
import { MessageService } from "../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../gen/chat/v1/room_pb.js";
import { DeliveryTracker } from "./delivery-tracker.js";
import type { FromLoadgen, LoadgenConfig, LoadgenResult, ToLoadgen } from "./fanout-ipc.js";
import { Histogram } from "./histogram.js";
import { leanSubscribers } from "./lean-subscriber.js";
import { peerTarget } from "./peers/peer-clients.js";
import { type PublishPlan, publishAtRate, publishSaturated } from "./publisher.js";
import type { CheckedSubscriber } from "./subscriber.js";
import {
  controlTransport,
  type LoadTarget,
  sdkSubscribers,
  subscribersPerRoom,
} from "./transports.js";

/** Subscribers being opened at the same time. */
const openConcurrency = 50;
/** After the last expected delivery, how long to keep listening for duplicates. */
const lateGraceMs = 250;

/** A signed-in account. */
interface Account {
  token: string;
  userId: bigint;
}

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

/** Sends to the orchestrator; resolves once the message is handed over. */
function send(msg: FromLoadgen): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(msg, undefined, undefined, () => resolve());
  });
}

function auth(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** Registers and logs in `username`. */
async function account(client: Client<typeof AuthService>, username: string): Promise<Account> {
  const password = "fanout bench password";
  await client.register({ username, password });
  const res = await client.login({ username, password, deviceName: "bench" });
  if (!res.user) throw new Error("login returned no user");
  return { token: res.accessToken, userId: res.user.id };
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
  const publisher = await account(authClient, `fanout_${runId}_pub`);
  const rooms: bigint[] = [];
  const plan: { roomId: bigint; account: Account }[] = [];
  const perRoom = subscribersPerRoom(config.subscribers, config.rooms);
  for (let r = 0; r < config.rooms; r++) {
    const created = await roomClient.createRoom(
      { name: `fanout ${runId} ${r}`, visibility: Visibility.PUBLIC },
      auth(publisher.token),
    );
    const roomId = created.room?.id;
    if (!roomId) throw new Error("CreateRoom returned no room");
    rooms.push(roomId);
    const streams = perRoom[r] ?? 0;
    for (let u = 0; u * config.streamsPerUser < streams; u++) {
      const sub = await account(authClient, `fanout_${runId}_r${r}_${u}`);
      await roomClient.joinRoom({ roomId }, auth(sub.token));
      const n = Math.min(config.streamsPerUser, streams - u * config.streamsPerUser);
      for (let k = 0; k < n; k++) plan.push({ roomId, account: sub });
    }
  }
  const pool =
    config.client === "lean"
      ? leanSubscribers(config.protocol, config.baseUrl)
      : sdkSubscribers(config.protocol, config.baseUrl);
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

  let expected = 0;
  let received = 0;
  let duplicates = 0;
  let gaps = 0;
  let streamErrors = 0;
  let otherEvents = 0;
  const wrong: string[] = [];
  let wrongCount = 0;
  for (const s of opened.subscribers) {
    const want = expectedOf(s);
    expected += want;
    received += s.received;
    duplicates += s.duplicates;
    gaps += s.gaps;
    otherEvents += s.otherEvents;
    if (s.error !== undefined) streamErrors += 1;
    if (s.error !== undefined || s.received !== want || s.duplicates || s.gaps || s.foreign) {
      wrongCount += 1;
      if (wrong.length < 5) {
        wrong.push(
          `#${s.index}: received ${s.received}/${want}, duplicates ${s.duplicates}, gaps ${s.gaps}, foreign ${s.foreign}${s.error ? `, error ${s.error}` : ""}`,
        );
      }
    }
  }
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
    deliveriesExpected: expected,
    deliveriesReceived: received,
    duplicates,
    gaps,
    streamErrors,
    subscribersWrong: wrongCount,
    wrongExamples: wrong,
    otherEvents,
    drainTimedOut,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Closes subscribers and connections, then exits with `code`. */
async function close(
  setup: Setup | undefined,
  opened: Opened | undefined,
  code = 0,
): Promise<never> {
  if (opened) {
    opened.abort.abort();
    await Promise.race([Promise.allSettled(opened.runs), sleep(5_000)]);
  }
  setup?.target.close();
  process.exit(code);
}

let setup: Setup | undefined;
let opened: Opened | undefined;

async function handle(msg: ToLoadgen): Promise<void> {
  switch (msg.type) {
    case "start": {
      const config = msg.config;
      const target =
        config.target === "protochat"
          ? await protochatTarget(config)
          : await peerTarget(config.target, config);
      setup = { config, target };
      await send({ type: "setupDone", users: target.users, rooms: target.rooms.length });
      return;
    }
    case "open": {
      if (!setup) throw new Error("open before start");
      const t0 = performance.now();
      opened = await openSubscribers(setup);
      await send({
        type: "streamsReady",
        openMs: performance.now() - t0,
        connections: setup.target.connections(),
      });
      return;
    }
    case "publish":
      if (!setup || !opened) throw new Error("publish before open");
      await send({ type: "result", result: await publish(setup, opened) });
      return;
    case "close":
      await close(setup, opened);
  }
}

process.on("message", (msg: ToLoadgen) => {
  handle(msg).catch(async (err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    await send({ type: "error", message });
    await close(setup, opened, 1);
  });
});
// The orchestrator is gone (crash, SIGKILL): do not linger.
process.on("disconnect", () => void close(setup, opened));

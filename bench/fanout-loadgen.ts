/**
 * The fan-out load generator, a child process of bench/fanout.ts (never
 * the server's process): creates the accounts and rooms, opens the
 * subscriber streams, publishes, and checks every delivery. Driven phase
 * by phase over IPC (see bench/fanout-ipc.ts); exits when told to close
 * or when its parent goes away.
 *
 * Accounts: one publisher, who creates every room; per room as many
 * subscriber users as the server's per-user stream limit requires, each
 * joined to that room only, so each stream carries exactly one room.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { type Client, createClient } from "@connectrpc/connect";
import { AuthService } from "../gen/chat/v1/auth_pb.js";
import { FeedService } from "../gen/chat/v1/feed_pb.js";
import { MessageService } from "../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../gen/chat/v1/room_pb.js";
import { DeliveryTracker } from "./delivery-tracker.js";
import type { FromLoadgen, LoadgenConfig, LoadgenResult, ToLoadgen } from "./fanout-ipc.js";
import { Histogram } from "./histogram.js";
import { type PublishPlan, publishAtRate, publishSaturated } from "./publisher.js";
import { Subscriber } from "./subscriber.js";
import { controlTransport, createTransportPool, type TransportPool } from "./transports.js";

/** Streams being opened at the same time. */
const openConcurrency = 50;
/** After the last expected delivery, how long to keep listening for duplicates. */
const lateGraceMs = 250;

/** A signed-in account. */
interface Account {
  token: string;
  userId: bigint;
}

/** Everything set up before streams open. */
interface Setup {
  config: LoadgenConfig;
  control: ReturnType<typeof controlTransport>;
  publisher: Account;
  rooms: bigint[];
  /** Per subscriber index: its room and its user. */
  plan: { roomId: bigint; account: Account }[];
  runId: string;
}

/** Streams opened. */
interface Opened {
  pool: TransportPool;
  abort: AbortController;
  subscribers: Subscriber[];
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

/** Accounts and rooms: nothing is streaming yet. */
async function setUp(config: LoadgenConfig): Promise<Setup> {
  const control = controlTransport(config.baseUrl);
  const authClient = createClient(AuthService, control.transport);
  const roomClient = createClient(RoomService, control.transport);
  const runId = randomBytes(3).toString("hex");
  const publisher = await account(authClient, `fanout_${runId}_pub`);
  const rooms: bigint[] = [];
  const plan: Setup["plan"] = [];
  for (let r = 0; r < config.rooms; r++) {
    const created = await roomClient.createRoom(
      { name: `fanout ${runId} ${r}`, visibility: Visibility.PUBLIC },
      auth(publisher.token),
    );
    const roomId = created.room?.id;
    if (!roomId) throw new Error("CreateRoom returned no room");
    rooms.push(roomId);
    const streams =
      Math.floor(config.subscribers / config.rooms) +
      (r < config.subscribers % config.rooms ? 1 : 0);
    for (let u = 0; u * config.streamsPerUser < streams; u++) {
      const sub = await account(authClient, `fanout_${runId}_r${r}_${u}`);
      await roomClient.joinRoom({ roomId }, auth(sub.token));
      const n = Math.min(config.streamsPerUser, streams - u * config.streamsPerUser);
      for (let k = 0; k < n; k++) plan.push({ roomId, account: sub });
    }
  }
  return { config, control, publisher, rooms, plan, runId };
}

/** Opens every stream and waits for every `ready`. */
async function openStreams(setup: Setup): Promise<Opened> {
  const { config, plan } = setup;
  const pool = createTransportPool(config.protocol, config.baseUrl);
  const abort = new AbortController();
  // Every stream listens to this one signal.
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
  const subscribers = plan.map(
    (p, i) =>
      new Subscriber(
        i,
        p.roomId,
        createClient(FeedService, pool.transportFor(i)),
        p.account.token,
        sink,
      ),
  );
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
  const roomClient = createClient(RoomService, setup.control.transport);
  for (const roomId of setup.rooms) {
    const res = await roomClient.getRoom({ roomId }, auth(setup.publisher.token));
    const count = plan.filter((p) => p.roomId === roomId).length;
    tracker.addRoom(roomId, count, res.room?.lastSeq ?? 0n);
  }
  return { pool, abort, subscribers, runs, latency, spread, tracker, lastDeliveryAt };
}

/** Publishes, waits for the deliveries, and checks every subscriber. */
async function publish(setup: Setup, opened: Opened): Promise<LoadgenResult> {
  const { config } = setup;
  const cpu0 = process.cpuUsage();
  const plan: PublishPlan = {
    client: createClient(MessageService, setup.control.transport),
    token: setup.publisher.token,
    rooms: setup.rooms,
    durationMs: config.durationMs,
    size: config.size,
    idPrefix: `fanout-${setup.runId}`,
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

  // Drain: until every live stream has its room's messages, or time is up.
  const expectedOf = (s: Subscriber) => stats.sentPerRoom.get(s.roomId) ?? 0;
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

/** Closes streams and connections, then exits with `code`. */
async function close(
  setup: Setup | undefined,
  opened: Opened | undefined,
  code = 0,
): Promise<never> {
  if (opened) {
    opened.abort.abort();
    await Promise.race([Promise.allSettled(opened.runs), sleep(5_000)]);
    opened.pool.close();
  }
  setup?.control.close();
  process.exit(code);
}

let setup: Setup | undefined;
let opened: Opened | undefined;

async function handle(msg: ToLoadgen): Promise<void> {
  switch (msg.type) {
    case "start":
      setup = await setUp(msg.config);
      await send({
        type: "setupDone",
        users: new Set(setup.plan.map((p) => p.account)).size + 1,
        rooms: setup.rooms.length,
      });
      return;
    case "open": {
      if (!setup) throw new Error("open before start");
      const t0 = performance.now();
      opened = await openStreams(setup);
      await send({
        type: "streamsReady",
        openMs: performance.now() - t0,
        connections: opened.pool.connections(),
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

/**
 * The sends load generator, a child process of orchestrator.ts: creates
 * the accounts and rooms through the API, then sends messages phase by
 * phase, one transport per sender (clients/client-pool.ts), and reports
 * every acknowledgement so the orchestrator can check them against the
 * database.
 *
 * Who sends where: room r has the senders s with s mod R = r (and sender
 * r mod S, so no room is without one); every sender is in the hot room.
 * Send k of the spread phase goes to room k mod R from the room's senders
 * in turn; send k of the hot and solo phases comes from sender k mod S.
 *
 * How (`--via`): a SendMessage call, a command on the sender's Chat
 * stream, or `direct`: RoomWriter.send of this process on the run's
 * database, with a send pool as the server makes one and no feed behind
 * it, so the phase measures the storage path (group commit, the room lock,
 * MariaDB) without Connect, HTTP or the server process.
 */
import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import {
  MessageService,
  type SendMessageRequestSchema,
  type SendMessageResponseSchema,
} from "../../gen/chat/v1/message_pb.js";
import { discardEvents } from "../../server/domain/event-sink.js";
import { RoomWriter } from "../../server/domain/room-writer.js";
import { systemClock } from "../../server/platform/clock.js";
import { createPrisma } from "../../server/store/prisma.js";
import { createSendPool } from "../../server/store/tx.js";
import {
  type Account,
  addMembers,
  auth,
  createAccount,
  createAccounts,
  createRoom,
  mapLimit,
} from "../clients/accounts.js";
import { ChatSender } from "../clients/chat-sender.js";
import { type ClientPool, createClientPool } from "../clients/client-pool.js";
import { leanUnary } from "../clients/lean-unary.js";
import type { Ack } from "../lib/db-checks.js";
import { Histogram } from "../lib/histogram.js";
import { logToParent, serveLoadgen } from "../lib/loadgen-process.js";
import { closedLoop, openLoop } from "../lib/schedule.js";
import type { FromSends, PhaseStats, SendsConfig, ToSends } from "./ipc.js";
import type { SendPhase } from "./options.js";

interface State {
  config: SendsConfig;
  control: ClientPool;
  senders: Account[];
  /** Per sender: how it sends one message. */
  clients: SendFn[];
  pool: ClientPool;
  rooms: bigint[];
  hotRoom: bigint | undefined;
  /** Per room index: sender indexes. */
  membersOf: number[][];
  clientIdPrefix: string;
}

/** What an acknowledgement carries. */
interface Acknowledged {
  message?: { id: bigint; seq: bigint };
  duplicate: boolean;
}

/** Sends one message as a sender; resolves with the acknowledgement. */
type SendFn = (req: MessageInitShape<typeof SendMessageRequestSchema>) => Promise<Acknowledged>;

/** What closes at the end: Chat streams, the direct writer's pools. */
const closers: (() => Promise<void> | void)[] = [];

let state: State | undefined;
/** Unmeasured sends before the first phase. */
const warmUpMs = 2_000;

async function setUp(config: SendsConfig): Promise<State> {
  const control = createClientPool("grpc-h2", config.baseUrl);
  const t = control.transportFor(0);
  const runId = randomBytes(3).toString("hex");
  const owner = await createAccount(createClient(AuthService, t), `s${runId}_owner`);
  logToParent(`creating ${config.senders} sender accounts`);
  const senders = await createAccounts(t, `s${runId}`, config.senders);
  const roomIdx = Array.from({ length: config.rooms }, (_, r) => r);
  const membersOf = roomIdx.map((r) => {
    const m = new Set<number>([r % config.senders]);
    for (let s = r; s < config.senders; s += config.rooms) m.add(s);
    return [...m];
  });
  logToParent(`creating ${config.rooms} rooms${config.withHotRoom ? " and the hot room" : ""}`);
  const rooms = await mapLimit(roomIdx, 4, async (r) => {
    const id = await createRoom(t, owner, `sends ${runId} ${r}`);
    await addMembers(
      t,
      owner,
      id,
      (membersOf[r] ?? []).map((s) => senders[s]?.userId ?? 0n),
    );
    return id;
  });
  let hotRoom: bigint | undefined;
  if (config.withHotRoom) {
    hotRoom = await createRoom(t, owner, `sends ${runId} hot`);
    await addMembers(
      t,
      owner,
      hotRoom,
      senders.map((s) => s.userId),
    );
  }
  const pool = createClientPool(config.protocol, config.baseUrl, {
    perSession: 100,
    // A browser's limit per host.
    h1MaxSockets: 6,
  });
  const st: State = {
    config,
    control,
    senders,
    clients: senders.map((account, i) => sendFn(config, account, pool, i)),
    pool,
    rooms,
    hotRoom,
    membersOf,
    clientIdPrefix: `sends-${runId}-`,
  };
  await warmUp(st);
  return st;
}

/** How sender `i` sends, by `--via`. */
function sendFn(config: SendsConfig, account: Account, pool: ClientPool, i: number): SendFn {
  switch (config.via) {
    case "chat": {
      const chat = new ChatSender(
        createClient(FeedService, pool.transportFor(i)),
        account.token,
        config.sendTimeoutMs,
      );
      closers.push(() => chat.close());
      return (req) => chat.send(req);
    }
    case "direct": {
      const writer = directWriter(config.databaseUrl);
      return async (req) =>
        writer.send({
          roomId: req.roomId ?? 0n,
          senderId: account.userId,
          clientMsgId: req.clientMsgId ?? "",
          kind: "TEXT",
          // What the server's SendMessage does to the text before the writer.
          text: (req.text ?? "").trim(),
          payload: null,
          replyToId: 0n,
          minRole: "MEMBER",
        });
    }
    case "unary": {
      if (config.client === "lean") {
        const lean = leanSenders(config);
        return (req) =>
          lean.call(i, req, { token: account.token, timeoutMs: config.sendTimeoutMs });
      }
      const client = createClient(MessageService, pool.transportFor(i));
      return (req) =>
        client.sendMessage(req, { ...auth(account.token), timeoutMs: config.sendTimeoutMs });
    }
  }
}

let lean:
  | ReturnType<typeof leanUnary<typeof SendMessageRequestSchema, typeof SendMessageResponseSchema>>
  | undefined;

/** The lean SendMessage callers of `--client lean`, laid out as the SDK pool's. */
function leanSenders(config: SendsConfig) {
  if (!lean) {
    const made = leanUnary(MessageService.method.sendMessage, config.protocol, config.baseUrl, {
      perSession: 100,
      h1MaxSockets: 6,
    });
    closers.push(() => made.close());
    lean = made;
  }
  return lean;
}

let writer: RoomWriter | undefined;

/**
 * The one RoomWriter of `--via direct`, made as the server makes its own
 * (server/app.ts): Prisma and a send pool on the database; events are
 * dropped, since nobody subscribes in this scenario.
 */
function directWriter(databaseUrl: string): RoomWriter {
  if (writer) return writer;
  const prisma = createPrisma(databaseUrl);
  const sendPool = createSendPool(databaseUrl);
  closers.push(async () => {
    await Promise.allSettled([prisma.$disconnect(), sendPool.end()]);
  });
  writer = new RoomWriter(prisma, systemClock, discardEvents, sendPool);
  return writer;
}

/**
 * A few seconds of sends before the first measured phase (JIT, connection
 * pools, sender connections), in the spread rooms, with their own
 * client_msg_id prefix; not measured, but in the database checks.
 */
async function warmUp(s: State): Promise<void> {
  const started = await closedLoop(8, warmUpMs, async (i) => {
    const sender = i % s.senders.length;
    const r = s.membersOf.findIndex((m) => m.includes(sender));
    const client = s.clients[sender];
    if (!client) return false;
    await client({
      roomId: s.rooms[r] ?? 0n,
      text: text("warm-up", i, s.config.size),
      clientMsgId: `warm-${s.clientIdPrefix}${i}`,
    });
  });
  logToParent(`warm-up: ${started} sends`);
}

/** Each phase's part of a client_msg_id, so no two phases send the same one. */
const phaseKey: Record<SendPhase, string> = { spread: "s", hot: "h", solo: "o" };

function text(phase: string, k: number, size: number): string {
  const head = `sends ${phase} ${k} `;
  return head.length >= size ? head : head + "x".repeat(size - head.length);
}

async function runPhase(s: State, phase: SendPhase): Promise<PhaseStats> {
  const { config } = s;
  const cpu0 = process.cpuUsage();
  const latency = new Histogram();
  const startLag = new Histogram();
  const acks: Ack[] = [];
  const errorsByCode: Record<string, number> = {};
  const firstErrors: string[] = [];
  const failed: string[] = [];
  const roomsUsed = new Set<bigint>();
  let started = 0;
  let lastAckAt = Number.NaN;
  const S = s.senders.length;
  const R = s.rooms.length;

  const target = (k: number): { roomId: bigint; sender: number } => {
    if (phase !== "spread") return { roomId: s.hotRoom ?? 0n, sender: k % S };
    const r = k % R;
    const members = s.membersOf[r] ?? [0];
    return { roomId: s.rooms[r] ?? 0n, sender: members[Math.floor(k / R) % members.length] ?? 0 };
  };

  /** One call; `fromMs` is when it was due (fixed rate) or started (saturation, solo). */
  const sendOne = async (k: number, fromMs: number): Promise<void> => {
    const { roomId, sender } = target(k);
    const account = s.senders[sender];
    const client = s.clients[sender];
    if (!account || !client) throw new Error(`no sender ${sender}`);
    const clientMsgId = `${s.clientIdPrefix}${phaseKey[phase]}${k}`;
    started += 1;
    roomsUsed.add(roomId);
    try {
      const res = await client({ roomId, text: text(phase, k, config.size), clientMsgId });
      const now = performance.now();
      latency.record(now - fromMs);
      lastAckAt = now;
      acks.push({
        roomId,
        seq: res.message?.seq ?? 0n,
        messageId: res.message?.id ?? 0n,
        senderId: account.userId,
        clientMsgId,
        duplicate: res.duplicate,
      });
    } catch (err) {
      const ce = ConnectError.from(err);
      const code = Code[ce.code] ?? String(ce.code);
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      if (firstErrors.length < 5) firstErrors.push(`${code}: ${ce.rawMessage.slice(0, 200)}`);
      failed.push(`${account.userId}/${clientMsgId}`);
    }
  };

  const t0 = performance.now();
  let offered = 0;
  let skipped = 0;
  if (phase !== "solo" && config.rate > 0) {
    ({ offered, skipped } = await openLoop(config, (k, dueAt, now) => {
      startLag.record(now - dueAt);
      return sendOne(k, dueAt);
    }));
  } else {
    // Saturation: --concurrency calls in flight; solo: one.
    const concurrency = phase === "solo" ? 1 : config.concurrency;
    offered = await closedLoop(concurrency, config.durationMs, (k) =>
      sendOne(k, performance.now()),
    );
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    phase,
    offered,
    started,
    acked: acks.length,
    skipped,
    errorsByCode,
    firstErrors,
    failed,
    ackLatency: latency.summary(),
    startLag: startLag.summary(),
    windowSeconds: (lastAckAt - t0) / 1000,
    sendingSeconds: config.durationMs / 1000,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    roomsUsed: roomsUsed.size,
    acks,
  };
}

serveLoadgen<ToSends, FromSends>(
  async (msg) => {
    switch (msg.type) {
      case "setup": {
        state = await setUp(msg.config);
        return {
          type: "setupDone",
          users: state.senders.length + 1,
          rooms: state.rooms,
          hotRoom: state.hotRoom,
          clientIdPrefix: state.clientIdPrefix,
        };
      }
      case "phase": {
        if (!state) throw new Error("phase before setup");
        const stats = await runPhase(state, msg.phase);
        return {
          type: "phaseDone",
          stats,
          connections:
            state.config.via === "unary" && state.config.client === "lean"
              ? (lean?.connections() ?? 0)
              : state.pool.connections(),
        };
      }
    }
  },
  async () => {
    for (const close of closers) await close();
    state?.pool.close();
    state?.control.close();
  },
);

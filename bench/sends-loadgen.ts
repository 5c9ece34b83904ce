/**
 * The sends load generator, a child process of bench/sends.ts: creates
 * the accounts and rooms, then sends messages phase by phase with the
 * generated SDK, one transport per sender (see bench/client-pool.ts), and
 * reports every acknowledgement so the orchestrator can check them
 * against the database.
 *
 * Who sends where: room r has the senders s with s mod R = r (and sender
 * r mod S, so no room is without one); every sender is in the hot room.
 * Send k of the spread phase goes to room k mod R from the room's senders
 * in turn; send k of the hot phase comes from sender k mod S.
 */
import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AuthService } from "../gen/chat/v1/auth_pb.js";
import { FeedService } from "../gen/chat/v1/feed_pb.js";
import {
  MessageService,
  type SendMessageRequestSchema,
  type SendMessageResponse,
} from "../gen/chat/v1/message_pb.js";
import {
  type Account,
  addMembers,
  auth,
  createAccount,
  createAccounts,
  createRoom,
  mapLimit,
} from "./bench-accounts.js";
import { ChatSender } from "./chat-sender.js";
import { type ClientPool, createClientPool } from "./client-pool.js";
import { Histogram } from "./histogram.js";
import { logToParent, serveLoadgen } from "./loadgen-process.js";
import type { Ack, FromSends, PhaseStats, SendsConfig, ToSends } from "./sends-ipc.js";

interface State {
  config: SendsConfig;
  control: ClientPool;
  senders: Account[];
  /** Per sender: how it sends one message (unary call or Chat command). */
  clients: SendFn[];
  pool: ClientPool;
  rooms: bigint[];
  hotRoom: bigint | undefined;
  /** Per room index: sender indexes. */
  membersOf: number[][];
  clientIdPrefix: string;
}

/** Sends one message as a sender; resolves with the acknowledgement. */
type SendFn = (
  req: MessageInitShape<typeof SendMessageRequestSchema>,
) => Promise<SendMessageResponse>;

/** Open Chat streams (`--via chat`), closed at the end. */
const chatSenders: ChatSender[] = [];

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
  const clients: SendFn[] = senders.map((account, i) => {
    const t = pool.transportFor(i);
    if (config.via === "chat") {
      const chat = new ChatSender(
        createClient(FeedService, t),
        account.token,
        config.sendTimeoutMs,
      );
      chatSenders.push(chat);
      return (req) => chat.send(req);
    }
    const client = createClient(MessageService, t);
    return (req) =>
      client.sendMessage(req, { ...auth(account.token), timeoutMs: config.sendTimeoutMs });
  });
  const st: State = {
    config,
    control,
    senders,
    clients,
    pool,
    rooms,
    hotRoom,
    membersOf,
    clientIdPrefix: `sends-${runId}-`,
  };
  await warmUp(st);
  return st;
}

/**
 * A few seconds of sends before the first measured phase (JIT, connection
 * pools, sender connections), in the spread rooms, with their own
 * client_msg_id prefix; not measured, but in the database checks.
 */
async function warmUp(s: State): Promise<void> {
  const end = performance.now() + warmUpMs;
  let k = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const i = k++;
      const sender = i % s.senders.length;
      const r = s.membersOf.findIndex((m) => m.includes(sender));
      const account = s.senders[sender];
      const client = s.clients[sender];
      if (!account || !client) return;
      await client({
        roomId: s.rooms[r] ?? 0n,
        text: text("warm-up", i, s.config.size),
        clientMsgId: `warm-${s.clientIdPrefix}${i}`,
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  logToParent(`warm-up: ${k} sends`);
}

function text(phase: string, k: number, size: number): string {
  const head = `sends ${phase} ${k} `;
  return head.length >= size ? head : head + "x".repeat(size - head.length);
}

async function runPhase(s: State, phase: "spread" | "hot"): Promise<PhaseStats> {
  const { config } = s;
  const cpu0 = process.cpuUsage();
  const latency = new Histogram();
  const startLag = new Histogram();
  const acks: Ack[] = [];
  const errorsByCode: Record<string, number> = {};
  const firstErrors: string[] = [];
  const failedIds: string[] = [];
  const roomsUsed = new Set<bigint>();
  let started = 0;
  let lastAckAt = Number.NaN;
  const S = s.senders.length;
  const R = s.rooms.length;

  const target = (k: number): { roomId: bigint; sender: number } => {
    if (phase === "hot") return { roomId: s.hotRoom ?? 0n, sender: k % S };
    const r = k % R;
    const members = s.membersOf[r] ?? [0];
    return { roomId: s.rooms[r] ?? 0n, sender: members[Math.floor(k / R) % members.length] ?? 0 };
  };

  /** One call; `fromMs` is when it was due (fixed rate) or started (saturation). */
  const sendOne = async (k: number, fromMs: number): Promise<void> => {
    const { roomId, sender } = target(k);
    const account = s.senders[sender];
    const client = s.clients[sender];
    if (!account || !client) throw new Error(`no sender ${sender}`);
    const clientMsgId = `${s.clientIdPrefix}${phase[0]}${k}`;
    started += 1;
    roomsUsed.add(roomId);
    try {
      const res = await client({ roomId, text: text(phase, k, config.size), clientMsgId });
      const now = performance.now();
      latency.record(now - fromMs);
      lastAckAt = now;
      const m = res.message;
      acks.push({
        roomId,
        seq: m?.seq ?? 0n,
        messageId: m?.id ?? 0n,
        senderId: account.userId,
        clientMsgId,
        duplicate: res.duplicate,
      });
    } catch (err) {
      const ce = ConnectError.from(err);
      const code = Code[ce.code] ?? String(ce.code);
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      if (firstErrors.length < 5) firstErrors.push(`${code}: ${ce.rawMessage.slice(0, 200)}`);
      failedIds.push(clientMsgId);
    }
  };

  const t0 = performance.now();
  let offered = 0;
  let skipped = 0;
  if (config.rate > 0) {
    // Open loop: send k is due at t0 + k / rate, whatever happened before.
    const total = Math.max(1, Math.round((config.rate * config.durationMs) / 1000));
    const inFlight = new Set<Promise<void>>();
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) * config.rate) / 1000) + 1);
        for (; offered < due; offered++) {
          const dueAt = t0 + (offered * 1000) / config.rate;
          if (inFlight.size >= config.maxInFlight) {
            skipped += 1;
            continue;
          }
          startLag.record(now - dueAt);
          const p = sendOne(offered, dueAt).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (offered >= total) {
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, t0 + (offered * 1000) / config.rate - performance.now()));
      };
      tick();
    });
    await Promise.all(inFlight);
  } else {
    const end = t0 + config.durationMs;
    const worker = async () => {
      while (performance.now() < end) {
        const k = offered++;
        await sendOne(k, performance.now());
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, worker));
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
    failedIds,
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
        return { type: "phaseDone", stats, connections: state.pool.connections() };
      }
    }
  },
  async () => {
    for (const c of chatSenders) c.close();
    state?.pool.close();
    state?.control.close();
  },
);

/**
 * Measures SendMessage throughput and ack latency against a throwaway
 * database: one hot room (every sender in the same room, so sends group
 * commit), many rooms in parallel, one sender alone, and optionally a fixed
 * arrival rate (open loop) for ack percentiles at a given load.
 *
 *   node --import tsx scripts/message-throughput.ts [--http] [--prisma] [--direct]
 *     [--messages N] [--concurrency C] [--rooms R] [--rate MSG_PER_S] [--seconds S]
 *
 * Default transport: in-memory (routes and interceptors, no network);
 * `--http` starts the real server on 127.0.0.1 and speaks Connect over
 * HTTP/1.1. Sends go through the send pool as in production; `--prisma`
 * leaves it out (the fallback path). Uses TEST_MYSQL_URL like the tests
 * (default root@127.0.0.1). Client and server share this process and its CPU.
 * `--direct` also calls RoomWriter.send without any RPC, to tell the storage
 * path's capacity from the cost of Connect.
 */
import { parseArgs } from "node:util";
import type { Client, Transport } from "@connectrpc/connect";
import { MessageService } from "../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../gen/chat/v1/room_pb.js";
import { discardEvents } from "../server/domain/event-sink.js";
import { RoomWriter } from "../server/domain/room-writer.js";
import { systemClock } from "../server/platform/clock.js";
import { createSendPool } from "../server/store/tx.js";
import { authed, httpTransport } from "../test/support/clients.js";
import { createTestEnv, inMemoryTransport } from "../test/support/env.js";
import { startServer } from "../test/support/server.js";
import { signUp } from "../test/support/users.js";

const { values } = parseArgs({
  options: {
    http: { type: "boolean", default: false },
    direct: { type: "boolean", default: false },
    prisma: { type: "boolean", default: false },
    messages: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "200" },
    rooms: { type: "string", default: "100" },
    rate: { type: "string", default: "0" },
    seconds: { type: "string", default: "5" },
  },
});
const total = Number(values.messages);
const concurrency = Number(values.concurrency);
const roomCount = Number(values.rooms);
const rate = Number(values.rate);
const seconds = Math.min(Number(values.seconds), 60);

const env = await createTestEnv();
if (!values.prisma) {
  const pool = createSendPool(env.databaseUrl);
  env.deps.sendPool = pool;
  env.onClose(() => pool.end());
}
const writer = new RoomWriter(env.prisma, systemClock, discardEvents, env.deps.sendPool);
let stop = async () => {};
let transport: Transport;
if (values.http) {
  const { server, url } = await startServer(env);
  transport = httpTransport(url);
  stop = () => server.shutdown(1000);
} else {
  transport = inMemoryTransport(env);
}

/** p-th percentile of ascending `sorted`. */
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const ms = (x: number) => x.toFixed(1);

try {
  const users: {
    id: bigint;
    rooms: Client<typeof RoomService>;
    msgs: Client<typeof MessageService>;
  }[] = [];
  for (let i = 0; i < 20; i++) {
    const u = await signUp(transport);
    users.push({
      id: u.user.id,
      rooms: authed(RoomService, transport, u.token),
      msgs: authed(MessageService, transport, u.token),
    });
  }
  const [owner, ...rest] = users;
  if (!owner) throw new Error("no users");
  const newRoom = async (name: string) => {
    const res = await owner.rooms.createRoom({
      name,
      visibility: Visibility.PUBLIC,
      memberIds: rest.map((u) => u.id),
    });
    return res.room?.id ?? 0n;
  };
  let sent = 0;
  let direct = false;
  const sendOne = async (label: string, i: number, rooms: bigint[]) => {
    const u = users[i % users.length];
    const roomId = rooms[i % rooms.length];
    if (!u || roomId === undefined) return;
    sent++;
    const [text, clientMsgId] = [`${label} ${i}`, `${label}-${i}`];
    if (!direct) {
      await u.msgs.sendMessage({ roomId, text, clientMsgId });
      return;
    }
    await writer.send({
      roomId,
      senderId: u.id,
      clientMsgId,
      kind: "TEXT",
      text,
      payload: null,
      replyToId: 0n,
      minRole: "MEMBER",
    });
  };

  /** Sends `n` messages with at most `c` in flight, spread over `rooms`. */
  const run = async (label: string, rooms: bigint[], n: number, c: number) => {
    let next = 0;
    const lat: number[] = [];
    const started = performance.now();
    const worker = async () => {
      for (let i = next++; i < n; i = next++) {
        const t = performance.now();
        await sendOne(label, i, rooms);
        lat.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: c }, worker));
    const took = performance.now() - started;
    lat.sort((a, b) => a - b);
    console.log(
      `${label}: ${n} messages, ${c} in flight, ${rooms.length} room(s): ` +
        `${took.toFixed(0)} ms, ${((n * 1000) / took).toFixed(0)} msg/s, ` +
        `ack p50 ${ms(pct(lat, 50))} ms, p99 ${ms(pct(lat, 99))} ms`,
    );
  };

  /**
   * Sends at `perSecond` for `secs`, whatever the acks do (open loop), and
   * reports ack latency from each message's scheduled time.
   */
  const openLoop = async (label: string, rooms: bigint[], perSecond: number, secs: number) => {
    const n = Math.round(perSecond * secs);
    const lat: number[] = [];
    const inflight: Promise<void>[] = [];
    let failed = 0;
    let firstError = "";
    const started = performance.now();
    for (let i = 0; i < n; ) {
      const now = performance.now();
      const due = Math.min(n, Math.floor(((now - started) * perSecond) / 1000) + 1);
      for (; i < due; i++) {
        const scheduled = started + (i * 1000) / perSecond;
        inflight.push(
          sendOne(label, i, rooms).then(
            () => void lat.push(performance.now() - scheduled),
            (err: unknown) => {
              failed++;
              firstError ||= String(err);
            },
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inflight);
    lat.sort((a, b) => a - b);
    console.log(
      `${label}: ${perSecond} msg/s for ${secs} s over ${rooms.length} room(s): ` +
        `ack p50 ${ms(pct(lat, 50))} ms, p99 ${ms(pct(lat, 99))} ms, ` +
        `max ${ms(lat.at(-1) ?? 0)} ms${failed ? `, ${failed} FAILED (${firstError})` : ""}`,
    );
  };

  // Rooms first: their creation is not what is measured.
  const rooms = {
    warmup: await newRoom("warmup"),
    hot: await newRoom("hot"),
    seq: await newRoom("seq"),
    directHot: await newRoom("direct hot"),
  };
  const many: bigint[] = [];
  for (let i = 0; i < roomCount; i++) many.push(await newRoom(`room ${i}`));
  // Warm-up (connections, JIT).
  await run("warmup", [rooms.warmup], 500, 50);
  const [cpu0, sent0] = [process.cpuUsage(), sent];
  await run("hot-room", [rooms.hot], total, concurrency);
  await run("many-rooms", many, total, concurrency);
  await run("sequential", [rooms.seq], Math.min(total, 300), 1);
  if (rate > 0) await openLoop("fixed-rate", many, rate, seconds);
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `process CPU (client and server): ${((cpu.user + cpu.system) / 1000 / (sent - sent0)).toFixed(2)} ms per send`,
  );
  if (values.direct) {
    direct = true;
    const [cpu1, sent1] = [process.cpuUsage(), sent];
    await run("direct-hot-room", [rooms.directHot], total, concurrency);
    await run("direct-many-rooms", many, total, concurrency);
    if (rate > 0) await openLoop("direct-fixed-rate", many, rate, seconds);
    const c = process.cpuUsage(cpu1);
    console.log(
      `process CPU without RPC: ${((c.user + c.system) / 1000 / (sent - sent1)).toFixed(2)} ms per send`,
    );
  }
} finally {
  await stop();
  await env.close();
}

/**
 * Measures SendMessage throughput against a throwaway database: one hot room
 * (every sender in the same room, so writers queue on the room lock) and
 * many rooms in parallel.
 *
 *   node --import tsx scripts/message-throughput.ts [--http] [--messages N] [--concurrency C] [--rooms R]
 *
 * Default transport: in-memory (routes and interceptors, no network);
 * `--http` starts the real server on 127.0.0.1 and speaks Connect over
 * HTTP/1.1. Uses TEST_MYSQL_URL like the tests (default root@127.0.0.1).
 */
import { parseArgs } from "node:util";
import type { Client, Transport } from "@connectrpc/connect";
import { MessageService } from "../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../gen/chat/v1/room_pb.js";
import {
  authed,
  createTestEnv,
  httpTransport,
  inMemoryTransport,
  signUp,
  startServer,
} from "../test/support/server.js";

const { values } = parseArgs({
  options: {
    http: { type: "boolean", default: false },
    messages: { type: "string", default: "400" },
    concurrency: { type: "string", default: "50" },
    rooms: { type: "string", default: "10" },
  },
});
const total = Number(values.messages);
const concurrency = Number(values.concurrency);
const roomCount = Number(values.rooms);

const env = await createTestEnv();
let stop = async () => {};
let transport: Transport;
if (values.http) {
  const { server, url } = await startServer(env);
  transport = httpTransport(url);
  stop = () => server.shutdown(1000);
} else {
  transport = inMemoryTransport(env);
}

try {
  const users: {
    id: bigint;
    rooms: Client<typeof RoomService>;
    msgs: Client<typeof MessageService>;
  }[] = [];
  for (let i = 0; i < 10; i++) {
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

  /** Sends `n` messages with at most `c` in flight, spread over `rooms`. */
  const run = async (label: string, rooms: bigint[], n: number, c: number) => {
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      for (let i = next++; i < n; i = next++) {
        const u = users[i % users.length];
        const roomId = rooms[i % rooms.length];
        if (!u || roomId === undefined) continue;
        await u.msgs.sendMessage({ roomId, text: `${label} ${i}`, clientMsgId: `${label}-${i}` });
      }
    };
    await Promise.all(Array.from({ length: c }, worker));
    const ms = performance.now() - started;
    console.log(
      `${label}: ${n} messages, ${c} in flight, ${rooms.length} room(s): ` +
        `${ms.toFixed(0)} ms, ${((n * 1000) / ms).toFixed(0)} msg/s`,
    );
  };

  // Warm-up (connections, prepared statements, JIT).
  await run("warmup", [await newRoom("warmup")], 50, 10);
  await run("hot-room", [await newRoom("hot")], total, concurrency);
  const many: bigint[] = [];
  for (let i = 0; i < roomCount; i++) many.push(await newRoom(`room ${i}`));
  await run("many-rooms", many, total, concurrency);
  await run("sequential", [await newRoom("seq")], Math.min(total, 100), 1);
} finally {
  await stop();
  await env.close();
}

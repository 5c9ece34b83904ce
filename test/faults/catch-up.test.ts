/**
 * Resuming far behind in many rooms at once: every room's catch-up shares
 * the paced half of the feed's queue, so a reader that keeps up gets
 * `ready` and every missed event, whatever the number of rooms, over the
 * real server on Connect HTTP/1.1 and gRPC (the direct Subscribe path).
 * Rooms further behind than the replay limit get `reset` instead.
 */
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { authed } from "../support/clients.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, server } = setupTestEnv({ instances: 0, server: true });
let owner: TestUser;
let reader: TestUser;
/** Rooms with their seq before the messages the reader missed. */
const rooms: { id: bigint; from: bigint; head: bigint }[] = [];
const ROOMS = 8;
const BEHIND = 300;

beforeAll(async () => {
  const t = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
  owner = await newUser(t, "cu");
  reader = await newUser(t, "cu");
  const msgs = authed(MessageService, t, owner.token);
  for (let r = 0; r < ROOMS; r++) {
    const id = await newRoom(owner, [reader]);
    const from = (await env.prisma.room.findUniqueOrThrow({ where: { id } })).lastSeq;
    for (let i = 0; i < BEHIND; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          msgs.sendMessage({
            roomId: id,
            text: `r${r} m${i + j}`,
            clientMsgId: `cu-${r}-${i + j}`,
          }),
        ),
      );
    }
    rooms.push({ id, from, head: from + BigInt(BEHIND) });
  }
}, 120_000);

const transports: [string, () => Transport][] = [
  ["Connect HTTP/1.1", () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })],
  ["gRPC HTTP/2", () => createGrpcTransport({ baseUrl: server.url })],
];

describe.each(transports)("resuming %s, 300 behind in each of 8 rooms", (_name, transport) => {
  it("gets ready and every missed event of every room, in order, once", async () => {
    const feed = FeedReader.open(authed(FeedService, transport(), reader.token), {
      positions: rooms.map((r) => ({ roomId: r.id, lastSeq: r.from })),
    });
    await feed.ready(10_000);
    const next = new Map(rooms.map((r) => [r.id, r.from + 1n]));
    let left = ROOMS * BEHIND;
    while (left > 0) {
      const ev = await feed.next(10_000);
      if (ev.case !== "roomEvent") continue;
      const want = next.get(ev.value.roomId);
      expect(ev.value.seq, `room ${ev.value.roomId}`).toBe(want);
      next.set(ev.value.roomId, (want ?? 0n) + 1n);
      left--;
    }
    for (const r of rooms) expect(next.get(r.id)).toBe(r.head + 1n);
    feed.close();
  }, 60_000);
});

// Group commit of sends (server/domain/send/send-batcher.ts): many sends in one
// transaction, each judged and answered on its own. Runs against both
// transaction runners: the send pool (production) and Prisma (fallback).
// A gate holds the first transaction so that the calls made meanwhile land
// in one batch, deterministically.
import { fromBinary } from "@bufbuild/protobuf";
import { Code, type ConnectError, type Transport } from "@connectrpc/connect";
import type { Pool } from "mariadb";
import { beforeAll, describe, expect, it } from "vitest";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import type { RoomEventSink } from "../../server/domain/event-sink.js";
import type { SendRequest } from "../../server/domain/send/send-batch.js";
import { type BatchLimits, SendBatcher } from "../../server/domain/send/send-batcher.js";
import { systemClock } from "../../server/platform/clock.js";
import {
  createSendPool,
  poolTransactions,
  prismaTransactions,
  type TxRunner,
} from "../../server/store/tx.js";
import { inMemoryTransport } from "../support/env.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { expectDense, roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();
let pool: Pool;

beforeAll(() => {
  pool = createSendPool(env.databaseUrl, 4);
  env.onClose(() => pool.end());
});

/** A sink that records what is published, in order. */
function recordingSink() {
  const published: { roomId: bigint; seqs: bigint[]; events: RoomEvent[] }[] = [];
  const sink: RoomEventSink = {
    publish(events, bytes) {
      expect(bytes).toHaveLength(events.length);
      published.push({
        roomId: events[0]?.roomId ?? 0n,
        seqs: events.map((e) => e.seq),
        events: [...events],
      });
    },
  };
  return { sink, published };
}

/** Wraps a runner: `hold()` parks the next transactions until `release()`. */
function gated(inner: TxRunner) {
  let gate: Promise<void> | undefined;
  let open = () => {};
  let transactions = 0;
  const runner: TxRunner = async (fn) => {
    if (gate) await gate;
    transactions++;
    return inner(fn);
  };
  return {
    runner,
    get transactions() {
      return transactions;
    },
    hold() {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release() {
      gate = undefined;
      open();
    },
  };
}

const runners: [string, () => TxRunner][] = [
  ["send pool", () => poolTransactions(pool)],
  ["Prisma", () => prismaTransactions(env.prisma)],
];

describe.each(runners)("group commit over the %s", (_name, makeRunner) => {
  function batcher(limits: Partial<BatchLimits> = {}) {
    const gate = gated(makeRunner());
    const { sink, published } = recordingSink();
    const b = new SendBatcher(gate.runner, env.prisma, systemClock, sink, { lanes: 1, ...limits });
    return { gate, published, b };
  }
  let n = 0;
  const text = (u: TestUser, roomId: bigint, extra: Partial<SendRequest> = {}): SendRequest => {
    n++;
    return {
      roomId,
      senderId: u.id,
      clientMsgId: `k${n}`,
      kind: "TEXT",
      text: `message ${n}`,
      payload: null,
      replyToId: 0n,
      minRole: "MEMBER",
      ...extra,
    };
  };

  it("writes concurrent sends of one room in one transaction: dense seqs, each acked once with its own", async () => {
    const owner = await newUser(transport);
    const others = [await newUser(transport), await newUser(transport), await newUser(transport)];
    const roomId = await newRoom(owner, others);
    const before = await roomSnapshot(env, roomId);
    const { gate, published, b } = batcher();
    gate.hold();
    const senders = [owner, ...others];
    const reqs = Array.from({ length: 50 }, (_, i) => text(senders[i % 4] as TestUser, roomId));
    const pending = reqs.map((r) => b.send(r));
    gate.release();
    const results = await Promise.all(pending);

    expect(gate.transactions).toBe(1);
    // Arrival order is sequence order.
    expect(results.map((r) => r.message.seq)).toEqual(
      reqs.map((_, i) => before.lastSeq + BigInt(i + 1)),
    );
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(50);
    results.forEach((r, i) => {
      expect(r.message.text).toBe(reqs[i]?.text);
      expect(r.message.senderId).toBe(reqs[i]?.senderId);
      expect(r.message.clientMsgId).toBe(reqs[i]?.clientMsgId);
    });
    // One publish, after COMMIT, with every event in order.
    expect(published).toHaveLength(1);
    expect(published[0]?.seqs).toEqual(results.map((r) => r.message.seq));
    const room = await expectDense(env, roomId);
    expect(room.lastSeq).toBe(before.lastSeq + 50n);
    expect(room.lastMessageId).toBe(results.at(-1)?.message.id);
    const rows = await env.prisma.message.findMany({
      where: { roomId, seq: { gt: before.lastSeq } },
      orderBy: { seq: "asc" },
    });
    expect(rows.map((r) => r.id)).toEqual(results.map((r) => r.message.id));
    // The stored events carry the acked messages.
    const events = await env.prisma.roomEvent.findMany({
      where: { roomId, seq: { gt: before.lastSeq } },
      orderBy: { seq: "asc" },
    });
    expect(events.every((e) => e.type === "messageCreated")).toBe(true);
    const first = fromBinary(RoomEventSchema, events[0]?.payload ?? new Uint8Array());
    expect(first.change.case === "messageCreated" && first.change.value.message?.id).toBe(
      results[0]?.message.id,
    );
  });

  it("fails a bad send alone, with its own code, and writes nothing for it", async () => {
    const owner = await newUser(transport);
    const member = await newUser(transport);
    const outsider = await newUser(transport);
    const roomId = await newRoom(owner, [member]);
    const privateRoom = await newRoom(owner, [], Visibility.PRIVATE);
    const archived = await newRoom(owner, [member]);
    const otherRoom = await newRoom(owner, [member]);
    const foreign = await owner.msgs.sendMessage({
      roomId: otherRoom,
      text: "x",
      clientMsgId: "f",
    });
    await owner.rooms.archiveRoom({ roomId: archived });
    const before = await roomSnapshot(env, roomId);
    const beforeArchived = await roomSnapshot(env, archived);
    const beforePrivate = await roomSnapshot(env, privateRoom);

    const { gate, published, b } = batcher();
    gate.hold();
    const good1 = b.send(text(owner, roomId));
    const badReply = b.send(text(member, roomId, { replyToId: foreign.message?.id ?? 0n }));
    const missingReply = b.send(text(member, roomId, { replyToId: 999_999_999n }));
    const notMember = b.send(text(outsider, roomId));
    const hidden = b.send(text(outsider, privateRoom));
    const readOnly = b.send(text(member, archived));
    const noRoom = b.send(text(member, 999_999_999n));
    const customByMember = b.send(
      text(member, roomId, {
        kind: "CUSTOM",
        text: "",
        payload: new Uint8Array([10, 1, 116]),
        minRole: "ADMIN",
      }),
    );
    const good2 = b.send(text(member, roomId));
    gate.release();

    const [a, z] = await Promise.all([good1, good2]);
    expect(a.message.seq).toBe(before.lastSeq + 1n);
    expect(z.message.seq).toBe(before.lastSeq + 2n);
    expect(badFields(await expectCode(badReply, Code.InvalidArgument))).toEqual(["reply_to_id"]);
    expect(badFields(await expectCode(missingReply, Code.InvalidArgument))).toEqual([
      "reply_to_id",
    ]);
    await expectCode(notMember, Code.PermissionDenied);
    await expectCode(hidden, Code.NotFound);
    await expectCode(readOnly, Code.FailedPrecondition);
    await expectCode(noRoom, Code.NotFound);
    await expectCode(customByMember, Code.PermissionDenied);
    expect(gate.transactions).toBe(1);
    expect(published.map((p) => p.seqs)).toEqual([[a.message.seq, z.message.seq]]);

    expect(await roomSnapshot(env, roomId)).toEqual({
      ...before,
      lastSeq: before.lastSeq + 2n,
      messages: before.messages + 2,
      events: before.events + 2,
    });
    expect(await roomSnapshot(env, archived)).toEqual(beforeArchived);
    expect(await roomSnapshot(env, privateRoom)).toEqual(beforePrivate);
    await expectDense(env, roomId);
  });

  it("answers a key used twice in one batch with one message, and retries later with the original", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const before = await roomSnapshot(env, roomId);
    const { gate, b } = batcher();
    gate.hold();
    const key = `same-${n}`;
    // The first claim fails (bad reply): the next one with the key is the message.
    const failing = b.send(text(owner, roomId, { clientMsgId: key, replyToId: 999_999_999n }));
    const same = Array.from({ length: 5 }, () =>
      b.send(text(owner, roomId, { clientMsgId: key, text: "the one" })),
    );
    // Keys compare case-insensitively, as the unique index does.
    const upper = b.send(text(owner, roomId, { clientMsgId: key.toUpperCase() }));
    gate.release();
    await expectCode(failing, Code.InvalidArgument);
    const results = await Promise.all([...same, upper]);
    expect(gate.transactions).toBe(1);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect(results.map((r) => r.duplicate)).toEqual([false, true, true, true, true, true]);
    expect(results.every((r) => r.message.text === "the one")).toBe(true);
    expect(results[0]?.message.seq).toBe(before.lastSeq + 1n);
    expect(await roomSnapshot(env, roomId)).toEqual({
      ...before,
      lastSeq: before.lastSeq + 1n,
      messages: before.messages + 1,
      events: before.events + 1,
    });

    // Later batches: the original in its current state, nothing written.
    await owner.msgs.editMessage({ messageId: results[0]?.message.id ?? 0n, text: "edited" });
    const mid = await roomSnapshot(env, roomId);
    gate.hold();
    const retries = [
      b.send(text(owner, roomId, { clientMsgId: key })),
      b.send(text(owner, roomId, { clientMsgId: key })),
    ];
    gate.release();
    for (const r of await Promise.all(retries)) {
      expect(r.duplicate).toBe(true);
      expect(r.message.id).toBe(results[0]?.message.id);
      expect(r.message.text).toBe("edited");
      expect(r.message.editTime).toBeDefined();
    }
    expect(await roomSnapshot(env, roomId)).toEqual(mid);
  });

  it("writes many rooms in one transaction, each dense, mentions and replies resolved per room", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const bob = await newUser(transport);
    const roomA = await newRoom(owner, [ann, bob]);
    const roomB = await newRoom(owner, [bob]); // ann is not a member here
    const parentA = await owner.msgs.sendMessage({
      roomId: roomA,
      text: "parent",
      clientMsgId: "p",
    });
    const before = [await roomSnapshot(env, roomA), await roomSnapshot(env, roomB)];
    const { gate, published, b } = batcher();
    gate.hold();
    const mention = `hi @${ann.username} and @${bob.username.toUpperCase()}`;
    const pending = [
      b.send(text(owner, roomA, { text: mention })),
      b.send(text(owner, roomB, { text: mention })),
      b.send(text(bob, roomA, { replyToId: parentA.message?.id ?? 0n })),
      b.send(text(bob, roomB, { text: "plain" })),
      b.send(
        text(owner, roomB, {
          kind: "CUSTOM",
          text: "",
          payload: new Uint8Array([10, 1, 116]),
          minRole: "ADMIN",
        }),
      ),
    ];
    gate.release();
    const [inA, inB, reply, plain, custom] = await Promise.all(pending);
    expect(gate.transactions).toBe(1);
    const sorted = (ids: bigint[]) => [...ids].sort((x, y) => (x < y ? -1 : 1));
    expect(inA?.message.mentionIds).toEqual(sorted([ann.id, bob.id]));
    expect(inB?.message.mentionIds).toEqual([bob.id]);
    expect(reply?.message.replyTo?.messageId).toBe(parentA.message?.id);
    expect(reply?.message.replyTo?.text).toBe("parent");
    expect(custom?.message.custom?.type).toBe("t");
    const [a0, b0] = before.map((x) => x.lastSeq);
    expect([inA, reply].map((r) => r?.message.seq)).toEqual([1n, 2n].map((k) => (a0 ?? 0n) + k));
    expect([inB, plain, custom].map((r) => r?.message.seq)).toEqual(
      [1n, 2n, 3n].map((k) => (b0 ?? 0n) + k),
    );
    // Published per room, each in sequence order.
    expect(published.map((p) => [p.roomId, p.seqs])).toEqual([
      [roomA, [inA?.message.seq, reply?.message.seq]],
      [roomB, [inB?.message.seq, plain?.message.seq, custom?.message.seq]],
    ]);
    const stored = await env.prisma.mention.findMany({
      where: { messageId: { in: [inA?.message.id ?? 0n, inB?.message.id ?? 0n] } },
      select: { messageId: true, userId: true, roomId: true, seq: true },
    });
    expect(stored).toHaveLength(3);
    expect(stored.every((m) => m.seq === (m.roomId === roomA ? inA : inB)?.message.seq)).toBe(true);
    await expectDense(env, roomA);
    await expectDense(env, roomB);
  });

  it("retries a batch that the database broke with each send alone, so only the culprit fails", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const before = await roomSnapshot(env, roomId);
    const { gate, published, b } = batcher();
    gate.hold();
    const ok1 = b.send(text(owner, roomId));
    // Past what checkText allows and what the TEXT column holds: the INSERT fails.
    const huge = b.send(text(owner, roomId, { text: "x".repeat(70_000) })).then(
      () => undefined,
      (err: unknown) => err,
    );
    const ok2 = b.send(text(owner, roomId));
    gate.release();
    const [a, z] = await Promise.all([ok1, ok2]);
    expect(String(await huge)).toMatch(/too long/i);
    expect([a.message.seq, z.message.seq]).toEqual([before.lastSeq + 1n, before.lastSeq + 2n]);
    // The batch, then each of its three sends alone.
    expect(gate.transactions).toBe(4);
    expect(published.map((p) => p.seqs)).toEqual([[a.message.seq], [z.message.seq]]);
    await expectDense(env, roomId);
  });

  it("refuses sends beyond the waiting limit with Unavailable, and serves the rest", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const { gate, b } = batcher({ maxWaiting: 3 });
    gate.hold();
    const accepted = [1, 2, 3].map(() => b.send(text(owner, roomId)));
    await expectCode(b.send(text(owner, roomId)), Code.Unavailable);
    gate.release();
    const results = await Promise.all(accepted);
    expect(new Set(results.map((r) => r.message.seq)).size).toBe(3);
    // Accepted again once the queue has drained.
    expect((await b.send(text(owner, roomId))).duplicate).toBe(false);
    await expectDense(env, roomId);
  });

  it("tries a transaction again after a deadlock", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const inner = makeRunner();
    let calls = 0;
    let runs = 0;
    // The first transaction dies at its INSERTs (after the room lock), as a
    // deadlock victim would: rolled back whole.
    const flaky: TxRunner = (fn) => {
      calls++;
      return inner((tx) =>
        fn({
          async run(stmts, opts) {
            if (++runs === 2) {
              throw Object.assign(new Error("Deadlock found when trying to get lock"), {
                errno: 1213,
              });
            }
            return tx.run(stmts, opts);
          },
        }),
      );
    };
    const { sink, published } = recordingSink();
    const b = new SendBatcher(flaky, env.prisma, systemClock, sink, { lanes: 1 });
    const before = await roomSnapshot(env, roomId);
    const r = await b.send(text(owner, roomId));
    expect(calls).toBe(2);
    expect(r.duplicate).toBe(false);
    expect(r.message.seq).toBe(before.lastSeq + 1n);
    expect(published).toHaveLength(1);
    await expectDense(env, roomId);
  });
});

describe("SendMessage through the send pool (RPC)", () => {
  let pooled: Transport;
  beforeAll(() => {
    pooled = inMemoryTransport(env, { sendPool: pool });
  });

  it("stores one message for 20 concurrent identical sends", async () => {
    const owner = await newUser(pooled);
    const roomId = await newRoom(owner);
    const before = await roomSnapshot(env, roomId);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        owner.msgs.sendMessage({ roomId, text: "racing", clientMsgId: "race" }),
      ),
    );
    expect(new Set(results.map((r) => r.message?.id)).size).toBe(1);
    expect(results.filter((r) => r.duplicate)).toHaveLength(19);
    expect(await roomSnapshot(env, roomId)).toEqual({
      ...before,
      lastSeq: before.lastSeq + 1n,
      messages: before.messages + 1,
      events: before.events + 1,
    });
  });

  it("keeps rooms dense under many concurrent senders across rooms", async () => {
    const owner = await newUser(pooled);
    const others = [await newUser(pooled), await newUser(pooled), await newUser(pooled)];
    const rooms: bigint[] = [];
    for (let i = 0; i < 6; i++) rooms.push(await newRoom(owner, others));
    const writers = [owner, ...others];
    const results = await Promise.all(
      Array.from({ length: 240 }, (_, i) => {
        const w = writers[i % writers.length] as TestUser;
        const roomId = rooms[i % rooms.length] as bigint;
        return w.msgs.sendMessage({ roomId, text: `m${i}`, clientMsgId: `m${i}` });
      }),
    );
    expect(results.every((r) => !r.duplicate)).toBe(true);
    for (const roomId of rooms) {
      const room = await expectDense(env, roomId);
      const mine = results.filter((r) => r.message?.roomId === roomId).map((r) => r.message?.seq);
      expect(new Set(mine).size).toBe(40);
      expect(await env.prisma.message.count({ where: { roomId, kind: "TEXT" } })).toBe(40);
      expect(room.lastMessageId).not.toBeNull();
    }
  });

  it("maps errors to exact codes", async () => {
    const owner = await newUser(pooled);
    const outsider = await newUser(pooled);
    const roomId = await newRoom(owner);
    const err: ConnectError = await expectCode(
      outsider.msgs.sendMessage({ roomId, text: "hi", clientMsgId: "x" }),
      Code.PermissionDenied,
    );
    expect(err.rawMessage).toMatch(/join the room first/);
    await expectCode(
      owner.msgs.sendMessage({ roomId: 999_999_999n, text: "hi", clientMsgId: "x" }),
      Code.NotFound,
    );
  });
});

/**
 * Failure paths that must heal, each with an injected failure: a bus whose
 * subscribe fails, a room hub whose first head read fails, a presence store
 * that fails after the feed was counted, and a room hub flooded while it
 * starts. Nothing a failed step set up may outlive it, and the next attempt
 * must start fresh.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { type BusHandler, InProcessBroker } from "../../server/realtime/bus/broker.js";
import { MemoryPresenceStore } from "../../server/realtime/presence/presence-store.js";
import { inMemoryInstance } from "../support/env.js";
import { expectCode } from "../support/errors.js";
import { FeedReader, roomEvents } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { Gate } from "../support/gates.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env } = setupTestEnv({ instances: 0 });

/** An in-process broker whose subscribes fail while `failing(channel)` says so. */
class FlakyBroker extends InProcessBroker {
  failing: (channel: string) => boolean = () => false;
  subscribes = 0;

  override async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    this.subscribes++;
    if (this.failing(channel)) throw new Error(`injected: subscribe ${channel} failed`);
    return super.subscribe(channel, handler);
  }
}

/** A Prisma client whose room head reads (last_seq alone) throw while `fail.n > 0`. */
function headFailingPrisma(prisma: PrismaClient, fail: { n: number }, gate?: Gate): PrismaClient {
  return prisma.$extends({
    query: {
      room: {
        async findUnique({ args, query }) {
          const select = args.select as Record<string, unknown> | undefined;
          if (select?.lastSeq && Object.keys(select).length === 1) {
            if (fail.n > 0) {
              fail.n--;
              throw new Error("injected: head read failed");
            }
            await gate?.pass();
          }
          return query(args);
        },
      },
    },
  }) as unknown as PrismaClient;
}

describe("a user channel whose subscribe fails", () => {
  it("is not kept: the next Subscribe subscribes afresh and gets membership changes", async () => {
    const broker = new FlakyBroker();
    const { transport, rpc } = inMemoryInstance(env, { broker });
    const alice = await newUser(transport, "flaky");
    const bob = await newUser(transport, "flaky");
    broker.failing = (c) => c === `user:${alice.id}`;
    const first = FeedReader.open(alice.feed);
    const { error } = await first.error();
    expect(Code[error.code]).toBe(Code[Code.Internal]);
    // Nothing of the failed open stays registered.
    expect(rpc.feed.localStreams(alice.id)).toBe(0);

    broker.failing = () => false;
    const second = FeedReader.open(alice.feed);
    await second.ready();
    // The user channel works: being added to a room arrives as room_added.
    const roomId = await newRoom(bob, [alice]);
    const evs = await second.until((e) => e.case === "roomAdded");
    expect(evs.at(-1)?.case).toBe("roomAdded");
    await send(bob, roomId, "hello after the failure");
    const live = await second.until(
      (e) => e.case === "roomEvent" && e.value.change.case === "messageCreated",
    );
    expect(roomEvents(live).at(-1)?.roomId).toBe(roomId);
    second.close();
  });
});

describe("a room hub whose first head read fails", () => {
  it("is dropped: the next Subscribe builds a fresh hub and live events flow", async () => {
    const fail = { n: 0 };
    const { transport, rpc } = inMemoryInstance(env, {
      prisma: headFailingPrisma(env.prisma, fail),
    });
    const alice = await newUser(transport, "hubfail");
    const roomId = await newRoom(alice);
    fail.n = 1;
    await expectCode(FeedReader.open(alice.feed).ready(), Code.Internal);
    expect(rpc.feed.localStreams(alice.id)).toBe(0);

    const feed = FeedReader.open(alice.feed);
    await feed.ready();
    await send(alice, roomId, "after the failed start");
    const evs = await feed.until(
      (e) => e.case === "roomEvent" && e.value.change.case === "messageCreated",
    );
    expect(roomEvents(evs).at(-1)?.roomId).toBe(roomId);
    feed.close();
  });

  it("reads back from storage what overflowed its inbox while it started", async () => {
    const gate = new Gate();
    const { transport } = inMemoryInstance(env, {
      prisma: headFailingPrisma(env.prisma, { n: 0 }, gate),
      feed: { maxReplay: 5_000 },
    });
    const alice = await newUser(transport, "inbox");
    const roomId = await newRoom(alice);
    const startSeq = (await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } })).lastSeq;
    const held = gate.arm();
    const feed = FeedReader.open(alice.feed);
    await held.reached;
    // The hub is subscribed and waits for its head: more than its inbox
    // holds arrives meanwhile on its bus.
    const sender = alice;
    const n = 1_050;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          sender.msgs.sendMessage({ roomId, text: `m${i + j}`, clientMsgId: `inbox-${i + j}` }),
        ),
      );
    }
    held.release();
    await feed.ready();
    // Everything after the position the feed started from, in order, once.
    const seen: bigint[] = [];
    const last = startSeq + BigInt(n);
    while ((seen.at(-1) ?? startSeq) < last) {
      const ev = await feed.next(10_000);
      if (ev.case === "roomEvent") seen.push(ev.value.seq);
    }
    expect(seen).toEqual(
      Array.from({ length: Number(last - startSeq) }, (_, i) => startSeq + BigInt(i + 1)),
    );
    feed.close();
  }, 60_000);
});

describe("presence that fails after the feed was counted", () => {
  it("never keeps the user online or a stream slot", async () => {
    const store = new MemoryPresenceStore();
    let failTransitions = true;
    const original = store.transition.bind(store);
    store.transition = async (userId, online) => {
      if (failTransitions) throw new Error("injected: presence store failed");
      return original(userId, online);
    };
    const { transport } = inMemoryInstance(env, {
      presenceStore: store,
      feed: { maxStreamsPerUser: 2 },
    });
    const alice: TestUser = await newUser(transport, "presence");
    // More feeds, one after the other, than the limit: none keeps a slot.
    for (let i = 0; i < 5; i++) {
      const feed = FeedReader.open(alice.feed);
      await feed.ready();
      feed.close();
      await eventually(async () => (await store.count(alice.id)) === 0, 5_000, "the slot to free");
    }
    failTransitions = false;
    expect(await store.count(alice.id)).toBe(0);
  });
});

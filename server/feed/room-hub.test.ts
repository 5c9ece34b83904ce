import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { createLogger } from "../logger.js";
import type { Broker, BusHandler } from "./broker.js";
import { encodeBus, type RoomFrame } from "./frames.js";
import { RoomHub } from "./room-hub.js";

const roomId = 7n;
const logger = createLogger("silent");

function eventBytes(seq: bigint): Uint8Array {
  return toBinary(
    RoomEventSchema,
    create(RoomEventSchema, { roomId, seq, change: { case: "messageDeleted", value: {} } }),
  );
}

/** A broker that hands the test the hub's handler. */
class FakeBroker implements Broker {
  handler: BusHandler | undefined;
  async publish(): Promise<void> {}
  async subscribe(_channel: string, handler: BusHandler): Promise<() => void> {
    this.handler = handler;
    return () => {
      this.handler = undefined;
    };
  }
  onResync(): void {}
  async close(): Promise<void> {}
  deliver(seq: bigint): void {
    this.handler?.(encodeBus({ case: "roomEvent", value: eventBytes(seq) }));
  }
}

/** room_events and rooms.last_seq of one room, with failures on demand. */
class FakeStore {
  lastSeq = 0n;
  headHold: Promise<void> = Promise.resolve();
  failReads = 0;
  reads = 0;
  readonly prisma = {
    room: {
      findUnique: async () => {
        // The value when the read reached the database, returned later.
        const lastSeq = this.lastSeq;
        await this.headHold;
        return { lastSeq };
      },
    },
    roomEvent: {
      findMany: async (args: { where: { seq: { gt: bigint; lte: bigint } }; take: number }) => {
        this.reads++;
        if (this.failReads > 0) {
          this.failReads--;
          throw new Error("injected: read failed");
        }
        const out: { payload: Uint8Array }[] = [];
        for (let s = args.where.seq.gt + 1n; s <= args.where.seq.lte && s <= this.lastSeq; s++) {
          if (out.length >= args.take) break;
          out.push({ payload: eventBytes(s) });
        }
        return out;
      },
    },
  } as unknown as PrismaClient;
}

function hubWith(store: FakeStore, broker: FakeBroker) {
  const seen: bigint[] = [];
  const hub = new RoomHub(roomId, broker, store.prisma, logger, () => undefined);
  hub.listeners.add({ onRoomEvent: (f: RoomFrame) => seen.push(f.seq), onRoomSignal: () => {} });
  return { hub, seen };
}

async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

describe("RoomHub", () => {
  it("reads back from storage what overflowed its inbox while it started", async () => {
    const store = new FakeStore();
    const broker = new FakeBroker();
    let release = () => {};
    store.headHold = new Promise((r) => {
      release = r;
    });
    const { hub, seen } = hubWith(store, broker);
    await until(() => broker.handler !== undefined);
    // The head read saw 0; 1,200 events are committed and arrive before
    // its answer does.
    store.lastSeq = 1_200n;
    for (let s = 1n; s <= 1_200n; s++) broker.deliver(s);
    release();
    await hub.ready;
    await until(() => seen.length === 1_200);
    expect(seen).toEqual(range(1, 1_200));
    hub.close();
  });

  it("retries a gap fill that failed instead of dropping the event", async () => {
    const store = new FakeStore();
    const broker = new FakeBroker();
    const { hub, seen } = hubWith(store, broker);
    await hub.ready;
    store.lastSeq = 3n;
    store.failReads = 2;
    broker.deliver(3n); // 1 and 2 only in storage, whose reads fail twice
    await until(() => seen.length === 3);
    expect(seen).toEqual(range(1, 3));
    hub.close();
  });

  it("catches up with storage on resync when a publish was lost", async () => {
    const store = new FakeStore();
    const broker = new FakeBroker();
    const { hub, seen } = hubWith(store, broker);
    await hub.ready;
    store.lastSeq = 4n; // committed, never published
    hub.resync();
    await until(() => seen.length === 4);
    broker.deliver(5n);
    store.lastSeq = 5n;
    await until(() => seen.length === 5);
    expect(seen).toEqual(range(1, 5));
    hub.close();
  });

  it("does not survive a failed start", async () => {
    const store = new FakeStore();
    const broker = new FakeBroker();
    store.headHold = Promise.reject(new Error("injected: head read failed"));
    const { hub } = hubWith(store, broker);
    await expect(hub.ready).rejects.toThrow("injected");
    expect(hub.isClosed).toBe(true);
    expect(broker.handler).toBeUndefined();
  });
});

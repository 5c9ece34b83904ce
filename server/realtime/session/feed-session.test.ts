/**
 * Unit tests of a feed session's queue (feed-session.ts) and its rooms'
 * catch-ups (room-cursor.ts) over a fake host: replays, however many rooms
 * run them at once, share the paced half of the queue, so the other half
 * stays free for live frames and a reader that keeps up is never cut; the
 * queue stays bounded for one that does not read at all.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../../gen/chat/v1/event_pb.js";
import { Reset_Reason } from "../../../gen/chat/v1/feed_pb.js";
import { type Frame, type RoomFrame, roomFrame } from "../frames.js";
import type { RoomListener } from "../hub/room-hub.js";
import { FeedSession, type Outgoing, type SessionHost } from "./feed-session.js";

function eventFrame(roomId: bigint, seq: bigint): RoomFrame {
  const event = create(RoomEventSchema, {
    roomId,
    seq,
    change: { case: "messageDeleted", value: { messageId: seq } },
  });
  return roomFrame(toBinary(RoomEventSchema, event));
}

/** One turn of the event loop: what is ready to run has run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}

/** Room hubs in miniature: heads, stored events 1..head, and the listeners attached. */
class FakeHost implements SessionHost {
  readonly heads = new Map<bigint, bigint>();
  /** Where a room's stored events end, when storage lags behind its head. */
  readonly storedUpTo = new Map<bigint, bigint>();
  readonly listeners = new Map<bigint, RoomListener>();
  reads = 0;

  async readEvents(roomId: bigint, after: bigint, upTo: bigint, limit: number) {
    this.reads++;
    await turn(); // a database round trip
    const out: RoomFrame[] = [];
    const last = this.storedUpTo.get(roomId) ?? upTo;
    for (let s = after + 1n; s <= upTo && s <= last && out.length < limit; s++) {
      out.push(eventFrame(roomId, s));
    }
    return out;
  }

  async attach(roomId: bigint, listener: RoomListener): Promise<bigint> {
    this.listeners.set(roomId, listener);
    return this.heads.get(roomId) ?? 0n;
  }

  detach(roomId: bigint): void {
    this.listeners.delete(roomId);
  }

  async loadRoom() {
    return undefined;
  }

  /** A new event of the room, handed live to the session's cursor. */
  live(roomId: bigint): void {
    const seq = (this.heads.get(roomId) ?? 0n) + 1n;
    this.heads.set(roomId, seq);
    this.listeners.get(roomId)?.onRoomEvent(eventFrame(roomId, seq));
  }
}

/** `room:seq` of the room events among frames (other frames as their case). */
function labels(frames: Outgoing[]): string[] {
  return frames.map((f) => {
    const ev = (f as Frame).message.event?.event;
    return ev?.case === "roomEvent" ? `${ev.value.roomId}:${ev.value.seq}` : String(ev?.case);
  });
}

/** Per room, the seqs delivered, in order. */
function byRoom(delivered: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const l of delivered) {
    const [room = "", seq = ""] = l.split(":");
    out.set(room, [...(out.get(room) ?? []), Number(seq)]);
  }
  return out;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A session over rooms 1..`rooms`, each with `head` events stored. */
function sessionWith(rooms: number, head: number, queueLimit: number, maxReplay = 10_000) {
  const host = new FakeHost();
  for (let r = 1; r <= rooms; r++) host.heads.set(BigInt(r), BigInt(head));
  const session = new FeedSession(1n, 1n, host, { queueLimit, maxReplay, heartbeatMs: 1_000 });
  return { host, session };
}

describe("FeedSession: catch-ups share the paced half of the queue", () => {
  it("never queues more replayed frames than half the queue, however many rooms catch up", async () => {
    const { session } = sessionWith(8, 100, 40);
    for (let r = 1n; r <= 8n; r++) await session.addRoom(r, 0n);
    const delivered: string[] = [];
    let rounds = 0;
    while (delivered.length < 800 && rounds < 200) {
      await settle();
      const frames = session.takeAll();
      // The reader looked away for a while: the replays filled the paced
      // half (20), and no more.
      expect(frames.length).toBeLessThanOrEqual(20);
      if (delivered.length + frames.length < 800) expect(frames.length).toBe(20);
      delivered.push(...labels(frames));
      rounds++;
    }
    expect(session.failed).toBeUndefined();
    const rooms = byRoom(delivered);
    expect([...rooms.keys()].sort()).toEqual(["1", "2", "3", "4", "5", "6", "7", "8"]);
    for (const seqs of rooms.values()) expect(seqs).toEqual(upTo(100));
  });

  it("keeps the other half for live frames: a reader back after a pause is not cut", async () => {
    const { host, session } = sessionWith(8, 100, 40);
    host.heads.set(99n, 0n);
    await session.addRoom(99n, 0n); // caught up: live
    for (let r = 1n; r <= 8n; r++) await session.addRoom(r, 0n);
    await settle();
    // While the reader is away, 20 live events arrive on top of the replays.
    for (let i = 0; i < 20; i++) host.live(99n);
    await settle();
    expect(session.failed).toBeUndefined();
    const first = labels(session.takeAll());
    expect(first).toHaveLength(40);
    expect(byRoom(first).get("99")).toEqual(upTo(20));
    // The reader keeps up from now on (a read per live event): never cut.
    const delivered = [...first];
    for (let i = 0; i < 400; i++) {
      host.live(99n);
      await turn();
      delivered.push(...labels(session.takeAll()));
    }
    await settle();
    delivered.push(...labels(session.takeAll()));
    expect(session.failed).toBeUndefined();
    const rooms = byRoom(delivered);
    expect(rooms.get("99")).toEqual(upTo(420));
    for (let r = 1; r <= 8; r++) expect(rooms.get(String(r))).toEqual(upTo(100));
  });

  it("stays bounded: a reader that never reads is cut once live frames fill the rest", async () => {
    const { host, session } = sessionWith(8, 100, 40);
    host.heads.set(99n, 0n);
    await session.addRoom(99n, 0n);
    for (let r = 1n; r <= 8n; r++) await session.addRoom(r, 0n);
    await settle();
    for (let i = 0; i < 20; i++) host.live(99n);
    expect(session.failed).toBeUndefined();
    host.live(99n);
    const err = session.failed?.error;
    expect(err).toBeInstanceOf(ConnectError);
    expect(Code[(err as ConnectError).code]).toBe(Code[Code.ResourceExhausted]);
    // The ended session lets go of its rooms and reads nothing more.
    expect(host.listeners.size).toBe(0);
    const reads = host.reads;
    await settle();
    expect(host.reads).toBe(reads);
  });
});

describe("FeedSession: where a room starts", () => {
  it("sends reset instead of a replay when the room is further behind than maxReplay", async () => {
    const { host, session } = sessionWith(1, 500, 40, 100);
    await session.addRoom(1n, 399n);
    await settle();
    const [reset, ...rest] = session.takeAll().map((f) => (f as Frame).message.event?.event);
    expect(reset?.case).toBe("reset");
    expect(reset?.case === "reset" && [reset.value.reason, reset.value.lastSeq]).toEqual([
      Reset_Reason.TOO_FAR_BEHIND,
      500n,
    ]);
    expect(rest).toEqual([]);
    expect(host.reads).toBe(0);
    // Live from the head on.
    host.live(1n);
    expect(labels(session.takeAll())).toEqual(["1:501"]);
  });

  it("fills a hole between its position and a live event from storage first", async () => {
    const { host, session } = sessionWith(1, 3, 40);
    await session.addRoom(1n, 3n); // up to date
    host.heads.set(1n, 6n); // 4..6 committed, their publishes lost
    host.live(1n); // 7 arrives live
    await settle();
    expect(labels(session.takeAll())).toEqual(["1:4", "1:5", "1:6", "1:7"]);
  });

  it("fails rather than skip events storage does not have", async () => {
    const { host, session } = sessionWith(1, 10, 40);
    host.storedUpTo.set(1n, 4n);
    // A direct writer: takes frames as they are queued.
    const delivered: string[] = [];
    session.drainTo(() => delivered.push(...labels(session.takeAll())));
    await session.addRoom(1n, 0n);
    await settle();
    expect(delivered).toEqual(["1:1", "1:2", "1:3", "1:4"]);
    expect(String(session.failed?.error)).toContain("events 5..10 missing in storage");
  });
});

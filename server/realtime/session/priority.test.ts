/**
 * Priority events (AdminService.SendPriorityEvent) in a feed session: the
 * priority frame overtakes every queued room event, even when the queue is
 * full, and its in-order copy still follows at its sequence; neither cuts
 * the reader off.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../../gen/chat/v1/event_pb.js";
import { type Frame, frame, type RoomFrame, roomFrame } from "../frames.js";
import type { RoomListener } from "../hub/room-hub.js";
import { FeedSession, type Outgoing, type SessionHost } from "./feed-session.js";

function eventFrame(roomId: bigint, seq: bigint, priority = false): RoomFrame {
  const event = create(RoomEventSchema, {
    roomId,
    seq,
    priority,
    change: { case: "messageDeleted", value: { messageId: seq } },
  });
  return roomFrame(toBinary(RoomEventSchema, event));
}

class Host implements SessionHost {
  listener: RoomListener | undefined;
  async readEvents(): Promise<RoomFrame[]> {
    return [];
  }
  async attach(_roomId: bigint, listener: RoomListener): Promise<bigint> {
    this.listener = listener;
    return 0n;
  }
  detach(): void {}
  async loadRoom() {
    return undefined;
  }
}

function labels(frames: Outgoing[]): string[] {
  return frames.map((f) => {
    const ev = (f as Frame).message.event?.event;
    if (ev?.case === "roomEvent") return `${ev.value.seq}`;
    if (ev?.case === "priorityEvent") return `!${ev.value.seq}`;
    return String(ev?.case);
  });
}

describe("priority events", () => {
  it("overtake a full queue and still arrive in order, without cutting the reader", async () => {
    const host = new Host();
    const limit = 8;
    const session = new FeedSession(1n, 1n, host, {
      queueLimit: limit,
      maxReplay: 100,
      heartbeatMs: 60_000,
    });
    session.push(frame({ case: "ready", value: {} }));
    await session.addRoom(5n, 0n);
    // The reader reads nothing: the queue fills up to its limit.
    for (let s = 1n; s < BigInt(limit); s++) host.listener?.onRoomEvent(eventFrame(5n, s));
    host.listener?.onRoomEvent(eventFrame(5n, BigInt(limit), true));
    expect(session.ended).toBe(false);
    const out = labels(session.takeAll());
    // ready keeps its place; the priority frame comes before every queued event.
    expect(out.slice(0, 2)).toEqual(["ready", `!${limit}`]);
    expect(out.slice(2)).toEqual(Array.from({ length: limit }, (_, i) => `${i + 1}`));
  });

  it("a normal event on a full queue still cuts a slow reader", async () => {
    const host = new Host();
    const session = new FeedSession(1n, 1n, host, {
      queueLimit: 4,
      maxReplay: 100,
      heartbeatMs: 60_000,
    });
    await session.addRoom(5n, 0n);
    for (let s = 1n; s <= 5n; s++) host.listener?.onRoomEvent(eventFrame(5n, s));
    expect(session.ended).toBe(true);
  });
});

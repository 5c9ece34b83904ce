/**
 * One subscriber: a FeedService.Subscribe stream through the generated
 * SDK, checked event by event. A room's events carry a dense sequence, so
 * a stream that gets every event exactly once, in order, sees `last + 1`
 * each time: anything lower is a duplicate (or arrived out of order),
 * anything higher a gap. message_created
 * events also yield a latency sample (now minus the send time in the text).
 */
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { RoomEvent } from "../gen/chat/v1/event_pb.js";
import type { FeedService } from "../gen/chat/v1/feed_pb.js";
import { nowMs, sentAt } from "./bench-message.js";

/** Where a subscriber reports each message it receives. */
export interface DeliverySink {
  onMessage(roomId: bigint, seq: bigint, latencyMs: number, receivedAtMs: number): void;
}

/** A Subscribe stream and its tallies. */
export class Subscriber {
  /** message_created events received. */
  received = 0;
  duplicates = 0;
  /** Sequence numbers skipped. */
  gaps = 0;
  /** Room events of another room (must not happen: the user is in one room). */
  foreign = 0;
  /** Presence, room stats, heartbeats. */
  otherEvents = 0;
  /** Set when the stream ended other than by our own abort. */
  error: string | undefined;
  /** Next sequence expected; set by `ready`. */
  private next = 0n;
  private readyResolve: () => void = () => {};
  private readyReject: (err: unknown) => void = () => {};
  /** Resolves once the stream got `ready` (and the server attached the room). */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.readyResolve = resolve;
    this.readyReject = reject;
  });

  constructor(
    readonly index: number,
    readonly roomId: bigint,
    private readonly client: Client<typeof FeedService>,
    private readonly token: string,
    private readonly sink: DeliverySink,
  ) {
    // Awaited by the opener; never an unhandled rejection here.
    this.ready.catch(() => {});
  }

  /** Runs the stream until it ends or `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      const stream = this.client.subscribe(
        {},
        { signal, headers: { authorization: `Bearer ${this.token}` } },
      );
      for await (const res of stream) {
        const ev = res.event?.event;
        if (ev?.case === "roomEvent") this.onRoomEvent(ev.value);
        else if (ev?.case === "ready") this.onReady(ev.value.rooms);
        else this.otherEvents += 1;
      }
      if (!signal.aborted) this.fail("the server ended the stream");
    } catch (err) {
      if (!(signal.aborted && ConnectError.from(err).code === Code.Canceled)) {
        const ce = ConnectError.from(err);
        this.fail(`${Code[ce.code]}: ${ce.rawMessage}`);
      }
    }
    this.readyReject(new Error(`subscriber ${this.index}: stream ended before ready`));
  }

  private onReady(rooms: { roomId: bigint; lastSeq: bigint }[]): void {
    const mine = rooms.find((r) => r.roomId === this.roomId);
    if (!mine) {
      this.fail(`ready does not list room ${this.roomId}`);
      return;
    }
    this.next = mine.lastSeq + 1n;
    this.readyResolve();
  }

  private onRoomEvent(e: RoomEvent): void {
    if (e.roomId !== this.roomId) {
      this.foreign += 1;
      return;
    }
    if (e.seq < this.next) {
      this.duplicates += 1;
      return;
    }
    if (e.seq > this.next) this.gaps += Number(e.seq - this.next);
    this.next = e.seq + 1n;
    if (e.change.case !== "messageCreated") {
      this.otherEvents += 1;
      return;
    }
    const text = e.change.value.message?.text ?? "";
    const receivedAt = nowMs();
    this.received += 1;
    this.sink.onMessage(e.roomId, e.seq, receivedAt - sentAt(text), receivedAt);
  }

  private fail(message: string): void {
    this.error ??= message;
  }
}

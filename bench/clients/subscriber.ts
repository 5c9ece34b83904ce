/**
 * The fan-out's subscribers and their checks. {@link CheckedSubscriber}
 * holds what every subscriber checks, whatever it is connected to (our
 * server here, a peer server in bench/peers/): a room's events carry a
 * dense sequence, so a stream that gets every event exactly once, in
 * order, sees `last + 1` each time; anything lower is a duplicate (or
 * arrived out of order), anything higher a gap. Each message also yields a
 * latency sample (now minus the send time carried in its text).
 *
 * {@link FeedSubscriber} is a FeedService.Subscribe stream: what it does
 * with each decoded SubscribeResponse and how it reports a failed call.
 * Two clients implement it (bench/README.md, "Subscriber client"):
 * {@link SdkSubscriber}, the generated SDK through connect-node, and the
 * lean one in lean-subscriber.ts.
 */
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import type { FeedService, SubscribeResponse } from "../../gen/chat/v1/feed_pb.js";
import { nowMs, sentAt } from "./message-text.js";
import { SequenceTally } from "./sequence-tally.js";

/** Where a subscriber reports each message it receives. */
export interface DeliverySink {
  onMessage(roomId: bigint, seq: bigint, latencyMs: number, receivedAtMs: number): void;
}

/**
 * Subscribe streams of one client kind, laid out over connections as the
 * protocol says; each subscriber is created on demand.
 */
export interface SubscriberPool {
  /** Subscriber `i` of `roomId`, calling as the holder of `token` (not yet running). */
  subscriber(i: number, roomId: bigint, token: string, sink: DeliverySink): CheckedSubscriber;
  /** Connections (HTTP/1.1) or sessions (HTTP/2) created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/**
 * One subscriber of one room, its tallies and its sequence check (a
 * foreign event is of another room: must not happen, a subscriber is in
 * one room; other events are anything but the room's messages).
 */
export abstract class CheckedSubscriber extends SequenceTally {
  /** Messages received (each once, counted when not a duplicate). */
  received = 0;
  /** Set when the stream ended other than by our own abort. */
  error: string | undefined;
  /** The room's sequence when this subscriber became ready (-1n before). */
  baseSeq = -1n;
  /** Next sequence expected; set by {@link markReady}. */
  private next = 0n;
  private readyResolve: () => void = () => {};
  private readyReject: (err: unknown) => void = () => {};
  /** Resolves once the subscriber is attached to its room and knows its position. */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.readyResolve = resolve;
    this.readyReject = reject;
  });

  constructor(
    readonly index: number,
    readonly roomId: bigint,
    private readonly sink: DeliverySink,
  ) {
    super();
    // Awaited by the opener; never an unhandled rejection here.
    this.ready.catch(() => {});
  }

  /** Runs until the stream ends or `signal` aborts; never throws. */
  abstract run(signal: AbortSignal): Promise<void>;

  /** Attached; the room's last sequence is `lastSeq`. */
  protected markReady(lastSeq: bigint): void {
    this.baseSeq = lastSeq;
    this.next = lastSeq + 1n;
    this.readyResolve();
  }

  /** Fails `ready` if it has not resolved yet (the stream is over). */
  protected endBeforeReady(): void {
    this.readyReject(new Error(`subscriber ${this.index}: stream ended before ready`));
  }

  /**
   * A room event at `seq` arrived; returns true when it is new (not a
   * duplicate, not of another room), counting gaps.
   */
  protected checkSequence(roomId: bigint, seq: bigint): boolean {
    if (roomId !== this.roomId) {
      this.foreign += 1;
      return false;
    }
    const next = this.advance(this.next, seq);
    if (next === undefined) return false;
    this.next = next;
    return true;
  }

  /** A new message (after {@link checkSequence}) whose text is `text`. */
  protected delivered(seq: bigint, text: string): void {
    const receivedAt = nowMs();
    this.received += 1;
    this.sink.onMessage(this.roomId, seq, receivedAt - sentAt(text), receivedAt);
  }

  protected fail(message: string): void {
    this.error ??= message;
  }
}

/**
 * A FeedService.Subscribe stream, whatever client carries it: the checks
 * of each decoded response, and errors worded the same for every client.
 */
export abstract class FeedSubscriber extends CheckedSubscriber {
  /** One decoded SubscribeResponse of the stream. */
  protected onResponse(res: SubscribeResponse): void {
    const ev = res.event?.event;
    if (ev?.case === "roomEvent") this.onRoomEvent(ev.value);
    else if (ev?.case === "ready") this.onReady(ev.value.rooms);
    else this.otherEvents += 1;
  }

  /** The call failed with `err` (any value; worded as "Code: message"). */
  protected failWith(err: unknown): void {
    const ce = ConnectError.from(err);
    this.fail(`${Code[ce.code]}: ${ce.rawMessage}`);
  }

  private onReady(rooms: { roomId: bigint; lastSeq: bigint }[]): void {
    const mine = rooms.find((r) => r.roomId === this.roomId);
    if (!mine) {
      this.fail(`ready does not list room ${this.roomId}`);
      return;
    }
    this.markReady(mine.lastSeq);
  }

  private onRoomEvent(e: RoomEvent): void {
    if (!this.checkSequence(e.roomId, e.seq)) return;
    if (e.change.case !== "messageCreated") {
      this.otherEvents += 1;
      return;
    }
    this.delivered(e.seq, e.change.value.message?.text ?? "");
  }
}

/** A Subscribe stream through the generated SDK: `createClient` over a connect-node transport. */
export class SdkSubscriber extends FeedSubscriber {
  constructor(
    index: number,
    roomId: bigint,
    private readonly client: Client<typeof FeedService>,
    private readonly token: string,
    sink: DeliverySink,
  ) {
    super(index, roomId, sink);
  }

  override async run(signal: AbortSignal): Promise<void> {
    try {
      const stream = this.client.subscribe(
        {},
        { signal, headers: { authorization: `Bearer ${this.token}` } },
      );
      for await (const res of stream) this.onResponse(res);
      if (!signal.aborted) this.fail("the server ended the stream");
    } catch (err) {
      if (!(signal.aborted && ConnectError.from(err).code === Code.Canceled)) this.failWith(err);
    }
    this.endBeforeReady();
  }
}

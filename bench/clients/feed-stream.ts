/**
 * One FeedService.Subscribe stream of the storm, resume and hold
 * scenarios, through the lean client or the generated SDK (feed-calls.ts,
 * `--client`), checked event by event like
 * subscriber.ts does for fanout, but for any number of rooms and
 * with resume positions.
 *
 * Per room the stream must deliver every event after its starting point
 * exactly once, in order: `last + 1` each time. The starting point is the
 * position sent in the request (resume) or the room's `last_seq` in
 * `ready`. Anything lower is a duplicate, anything higher a gap; a `reset`
 * is counted (the resume scenario keeps the replay bound above what it
 * needs, so it must not happen).
 *
 * Times are `performance.now()` milliseconds of the load generator.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import type { SubscribeResponse } from "../../gen/chat/v1/feed_pb.js";
import type { FeedCalls } from "./feed-calls.js";
import { SequenceTally } from "./sequence-tally.js";

/** How a stream ended other than by our own abort: error code (or "ended") and message. */
export interface StreamFailure {
  /** `Code` name, "ended" (the server closed the stream without error) or "timeout". */
  code: string;
  message: string;
  /** Whether `ready` had arrived. */
  afterReady: boolean;
  atMs: number;
}

/** Per-room state of a stream. */
interface RoomState {
  /** Next sequence expected. */
  next: bigint;
  /** Caught up once `next` exceeds this (undefined: no target). */
  target: bigint | undefined;
}

/** Notified as streams make progress (counters kept by the owner). */
export interface StreamObserver {
  onReady?(s: FeedStream): void;
  onCaughtUp?(s: FeedStream): void;
  onFailure?(s: FeedStream): void;
}

/**
 * A Subscribe stream and its tallies (a foreign event is of a room not in
 * `ready`; other events: presence, room stats, heartbeats, read markers,
 * typing).
 */
export class FeedStream extends SequenceTally {
  startedAtMs = Number.NaN;
  readyAtMs = Number.NaN;
  /** When every room with a target reached it. */
  caughtUpAtMs = Number.NaN;
  /** Room events received (all kinds). */
  roomEvents = 0;
  resets = 0;
  heartbeats = 0;
  failure: StreamFailure | undefined;
  private readonly rooms = new Map<bigint, RoomState>();
  private pendingTargets = 0;
  private settle: () => void = () => {};
  /** Resolves at `ready` or at the failure, whichever comes first. */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    readonly index: number,
    private readonly calls: FeedCalls,
    private readonly token: string,
    /** Resume positions sent in the request; empty: start at the heads in `ready`. */
    readonly positions: { roomId: bigint; lastSeq: bigint }[] = [],
    /** Per room: the sequence whose receipt means "caught up". */
    private readonly targets: Map<bigint, bigint> = new Map(),
    private readonly observer: StreamObserver = {},
  ) {
    super();
  }

  get ready(): boolean {
    return !Number.isNaN(this.readyAtMs);
  }

  get caughtUp(): boolean {
    return !Number.isNaN(this.caughtUpAtMs);
  }

  /** Next sequence expected per room (after `ready`). */
  nextSeq(roomId: bigint): bigint | undefined {
    return this.rooms.get(roomId)?.next;
  }

  /** Rooms listed in `ready` with their `last_seq` as sent. */
  readonly readyRooms = new Map<bigint, bigint>();

  /** Runs the stream until it ends or `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    this.startedAtMs = performance.now();
    try {
      await this.calls.run(this.index, this.token, this.positions, signal, (res) =>
        this.onResponse(res),
      );
      if (!signal.aborted) this.fail("ended", "the server ended the stream");
    } catch (err) {
      const ce = ConnectError.from(err);
      if (!(signal.aborted && ce.code === Code.Canceled)) this.fail(Code[ce.code], ce.rawMessage);
    } finally {
      this.settle();
    }
  }

  /** One response of the stream. */
  private onResponse(res: SubscribeResponse): void {
    const ev = res.event?.event;
    switch (ev?.case) {
      case "roomEvent":
        this.onRoomEvent(ev.value);
        break;
      case "ready":
        this.onReady(ev.value.rooms);
        break;
      case "reset":
        this.resets += 1;
        break;
      case "heartbeat":
        this.heartbeats += 1;
        this.otherEvents += 1;
        break;
      default:
        this.otherEvents += 1;
    }
  }

  /** Marks the stream failed (first failure wins). */
  fail(code: string, message: string): void {
    if (this.failure) return;
    this.failure = { code, message, afterReady: this.ready, atMs: performance.now() };
    this.settle();
    this.observer.onFailure?.(this);
  }

  private onReady(rooms: { roomId: bigint; lastSeq: bigint }[]): void {
    const from = new Map(this.positions.map((p) => [p.roomId, p.lastSeq]));
    for (const r of rooms) {
      this.readyRooms.set(r.roomId, r.lastSeq);
      const target = this.targets.get(r.roomId);
      const start = from.get(r.roomId) ?? r.lastSeq;
      const state: RoomState = { next: start + 1n, target };
      if (target !== undefined && state.next <= target) this.pendingTargets += 1;
      this.rooms.set(r.roomId, state);
    }
    this.readyAtMs = performance.now();
    this.settle();
    this.observer.onReady?.(this);
    if (this.pendingTargets === 0) this.markCaughtUp();
  }

  private onRoomEvent(e: RoomEvent): void {
    this.roomEvents += 1;
    const room = this.rooms.get(e.roomId);
    if (!room) {
      this.foreign += 1;
      return;
    }
    const before = room.next;
    const next = this.advance(before, e.seq);
    if (next === undefined) return;
    room.next = next;
    if (room.target !== undefined && before <= room.target && room.next > room.target) {
      this.pendingTargets -= 1;
      if (this.pendingTargets === 0) this.markCaughtUp();
    }
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUpAtMs = performance.now();
    this.observer.onCaughtUp?.(this);
  }
}

/** Counts of failures by code, e.g. `{ Unavailable: 3, timeout: 1 }`. */
export function failuresByCode(streams: Iterable<FeedStream>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of streams) if (s.failure) out[s.failure.code] = (out[s.failure.code] ?? 0) + 1;
  return out;
}

/**
 * The most frequent failure messages (code: message), at most `n`; ids and
 * numbers in messages are replaced ("internal error (id <id>)") so equal
 * failures count together.
 */
export function topFailureMessages(
  streams: Iterable<FeedStream>,
  n = 5,
): { message: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const s of streams) {
    if (!s.failure) continue;
    const message = s.failure.message
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
      .replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, "<address>")
      .replace(/\d{3,}/g, "N")
      .slice(0, 160);
    const key = `${s.failure.code}: ${message}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([message, count]) => ({ message, count }));
}

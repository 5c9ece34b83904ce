/**
 * One open feed stream: a bounded queue of frames and, per room, the next
 * sequence the client must get. Per room it delivers exactly the events
 * after the client's position, in order: a hole between what it has and
 * what arrives live is filled from room_events first: never a silent gap. A
 * client too slow to drain the queue is cut off with ResourceExhausted and
 * resumes by sequence; it never holds up the room.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Reset_Reason } from "../../../gen/chat/v1/feed_pb.js";
import { Frame, frame, heartbeatFrame } from "../frames.js";
import { type CursorOwner, RoomCursor } from "./room-cursor.js";
import type { Outgoing, SessionHost, SessionOptions } from "./session-types.js";

export type { FeedCount, Outgoing, SessionHost, SessionOptions } from "./session-types.js";

/** A Subscribe stream's state. */
export class FeedSession implements CursorOwner {
  private queue: Outgoing[] = [];
  /**
   * Called when frames are queued or the stream ended: the generator's
   * wake-up while it waits, or a direct writer's flush request.
   */
  private wake: (() => void) | undefined;
  /** Replays waiting for the queue to drain. */
  private spaceWaiters: { need: number; resolve: () => void }[] = [];
  /** Room in the paced half of the queue promised to replays in progress. */
  private reserved = 0;
  /** Membership changes that arrived before `ready` was queued. */
  private deferred: (() => void)[] | undefined = [];
  /**
   * Why the stream ended, as thrown: a ConnectError, or anything else that
   * the caller masks as Internal (never sent as is).
   */
  private failure: { error: unknown } | undefined;
  readonly cursors = new Map<bigint, RoomCursor>();
  /** Removals that arrived before the room was attached (start-up race). */
  private readonly removedAt = new Map<bigint, bigint>();
  ended = false;
  /** Set once the stream carries rooms (Chat: after a subscribe command). */
  subscribed = false;
  /** End after the queued frames are sent (Chat whose client stopped sending). */
  private finishing = false;
  /** Heartbeat interval of this stream (the client may ask for its own). */
  heartbeatMs: number;

  constructor(
    readonly userId: bigint,
    readonly sessionId: bigint,
    readonly host: SessionHost,
    readonly options: SessionOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs;
  }

  /** Frames queued and not yet taken by the stream (statistics, tests). */
  get queued(): number {
    return this.queue.length;
  }

  /** Why the stream ended, once it failed (wrapped: any value may be thrown). */
  get failed(): { error: unknown } | undefined {
    return this.failure;
  }

  /**
   * Hands every queued frame to a direct writer, which calls `onReady` on
   * this session's behalf from now on instead of pulling `frames()`.
   */
  drainTo(onReady: () => void): void {
    this.wake = onReady;
  }

  /** Takes everything queued (oldest first); frees the queue for more. */
  takeAll(): Outgoing[] {
    if (this.queue.length === 0) return [];
    const taken = this.queue;
    this.queue = [];
    this.releaseSpace();
    return taken;
  }

  /**
   * Queues a frame; past the limit the stream ends (resumable). `priority`:
   * the in-order copy of a priority event, which may go up to twice the
   * limit, so the priority frame queued ahead of it is not thrown away with
   * the queue of a reader cut off for being slow.
   */
  push(f: Outgoing, priority = false): void {
    if (this.ended) return;
    if (this.queue.length >= (priority ? 2 : 1) * this.options.queueLimit) {
      this.host.count?.("overflows", 1);
      this.fail(
        new ConnectError(
          "feed consumer too slow: the stream was ended; reconnect and resume from the last sequence of each room",
          Code.ResourceExhausted,
        ),
      );
      return;
    }
    this.queue.push(f);
    this.host.delivered?.(1);
    this.wake?.();
  }

  /**
   * Queues an operator's priority frame ahead of every queued room event
   * (after `ready` and earlier priority frames, which keep their place).
   * It is never the frame that cuts a slow reader: it may exceed the queue
   * limit, up to twice it.
   */
  pushPriority(f: Outgoing): void {
    if (this.ended) return;
    if (this.queue.length >= 2 * this.options.queueLimit) {
      this.push(f);
      return;
    }
    let at = 0;
    while (at < this.queue.length && !isRoomEvent(this.queue[at])) at += 1;
    this.queue.splice(at, 0, f);
    this.host.delivered?.(1);
    this.wake?.();
  }

  /**
   * Resolves once `n` more paced frames fit in the queue, and holds that
   * room for the caller until {@link unreserve}: concurrent replays share
   * the paced half instead of each seeing it empty. Resolves at once once
   * the stream ended.
   */
  reserve(n: number): Promise<void> {
    if (this.ended || this.fits(n)) {
      this.reserved += n;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.spaceWaiters.push({
        need: n,
        resolve: () => {
          this.reserved += n;
          resolve();
        },
      }),
    );
  }

  /** Gives back what {@link reserve} held (the frames, if any, are queued by now). */
  unreserve(n: number): void {
    this.reserved = Math.max(0, this.reserved - n);
    this.releaseSpace();
  }

  /**
   * Paced frames (replays, presence snapshots) may fill only half the
   * queue: the other half stays free for live frames, so a reader that
   * keeps up is never cut off because a replay was waiting on it.
   */
  private fits(n: number): boolean {
    return (
      this.queue.length + this.reserved + n <= Math.max(n, Math.floor(this.options.queueLimit / 2))
    );
  }

  private releaseSpace(): void {
    if (this.spaceWaiters.length === 0) return;
    const waiting = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiting) {
      if (this.ended || this.fits(w.need)) w.resolve();
      else this.spaceWaiters.push(w);
    }
  }

  /** `ready` is queued: membership changes held back until now apply. */
  markReady(): void {
    const deferred = this.deferred ?? [];
    this.deferred = undefined;
    for (const fn of deferred) fn();
  }

  /**
   * A membership change from the user's channel. Before `ready` is queued
   * it waits, so `room_added` never precedes `ready`.
   */
  onMembership(roomId: bigint, joined: boolean, seq: bigint): void {
    const apply = () => {
      if (joined) this.joinedAt(roomId, seq).catch((err: unknown) => this.fail(err));
      else this.removeRoomAt(roomId, seq);
    };
    if (this.deferred) this.deferred.push(apply);
    else apply();
  }

  /** Ends the stream with an error (after what is queued is NOT sent). */
  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = { error: err };
    this.ended = true;
    this.queue.length = 0;
    // Let go of the rooms now: the handler may stay parked (a stalled
    // client pulls nothing) long after this.
    this.resetRooms();
    this.wake?.();
    this.releaseSpace();
  }

  /**
   * Starts carrying a room from sequence `after` (exclusive). If the room
   * is further behind than `maxReplay`, sends `reset` and goes live.
   */
  async addRoom(roomId: bigint, after: bigint): Promise<void> {
    if (this.cursors.has(roomId) || this.ended) return;
    const cursor = new RoomCursor(this, roomId, after);
    const removed = this.removedAt.get(roomId);
    if (removed !== undefined && removed > after) cursor.endAt = removed;
    this.cursors.set(roomId, cursor);
    const head = await this.host.attach(roomId, cursor);
    if (head - after > BigInt(this.options.maxReplay)) {
      cursor.next = head + 1n;
      this.host.count?.("resets", 1);
      this.push(
        frame({
          case: "reset",
          value: { roomId, reason: Reset_Reason.TOO_FAR_BEHIND, lastSeq: head },
        }),
      );
      // Removed before the reset point: nothing more of the room is owed.
      if (cursor.endAt !== undefined && cursor.next > cursor.endAt) this.endRoom(cursor);
    } else if (cursor.next <= head) {
      cursor.catchUp(head);
    }
  }

  /** Membership ended at `seq`: deliver up to it, then drop the room. */
  removeRoomAt(roomId: bigint, seq: bigint): void {
    const cursor = this.cursors.get(roomId);
    if (!cursor) {
      this.removedAt.set(roomId, seq);
      return;
    }
    cursor.endAt = seq;
    cursor.rejoinAt = undefined;
    if (cursor.next > seq) this.endRoom(cursor);
  }

  /** The user (re)joined at `seq`. */
  async joinedAt(roomId: bigint, seq: bigint): Promise<void> {
    const cursor = this.cursors.get(roomId);
    if (cursor) {
      // Still draining an earlier membership: rejoin once it is over.
      if (cursor.endAt !== undefined && seq > cursor.endAt) cursor.rejoinAt = seq;
      return;
    }
    this.removedAt.delete(roomId);
    const room = await this.host.loadRoom(roomId);
    // Subscribe may have attached it meanwhile (it was in `ready`).
    if (!room || this.cursors.has(roomId) || this.ended) return;
    this.push(frame({ case: "roomAdded", value: { room } }));
    await this.addRoom(roomId, seq - 1n);
  }

  endRoom(cursor: RoomCursor): void {
    if (this.cursors.get(cursor.roomId) !== cursor) return;
    cursor.stopped = true;
    this.cursors.delete(cursor.roomId);
    this.host.detach(cursor.roomId, cursor);
    this.push(frame({ case: "roomRemoved", value: { roomId: cursor.roomId } }));
    const rejoin = cursor.rejoinAt;
    if (rejoin !== undefined)
      void this.joinedAt(cursor.roomId, rejoin).catch((err: unknown) => this.fail(err));
  }

  /**
   * The frames for the handler to yield, with heartbeats while idle. Ends
   * by throwing the failure, or when `signal` aborts.
   */
  async *frames(signal: AbortSignal): AsyncGenerator<Outgoing> {
    const onAbort = () => this.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (this.failure) throw this.failure.error;
        if (signal.aborted) return;
        const next = this.queue.shift();
        if (next) {
          this.releaseSpace();
          yield next;
          continue;
        }
        if (this.finishing) return;
        const timedOut = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), this.heartbeatMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve(false);
          };
        });
        this.wake = undefined;
        if (timedOut && !this.failure && !signal.aborted) yield heartbeatFrame();
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Ends the stream once everything queued has been sent. */
  finish(): void {
    this.finishing = true;
    this.wake?.();
  }

  /** Stops carrying every room, silently (Chat re-subscribing). */
  resetRooms(): void {
    this.deferred ??= [];
    for (const cursor of this.cursors.values()) {
      cursor.stopped = true;
      this.host.detach(cursor.roomId, cursor);
    }
    this.cursors.clear();
  }

  /** Releases every room; idempotent. */
  close(): void {
    this.ended = true;
    for (const cursor of this.cursors.values()) {
      cursor.stopped = true;
      this.host.detach(cursor.roomId, cursor);
    }
    this.cursors.clear();
    this.queue.length = 0;
    this.wake?.();
  }
}

/** Whether a queued frame is a room event (what a priority frame overtakes). */
function isRoomEvent(f: Outgoing | undefined): boolean {
  return f instanceof Frame && f.message.event?.event.case === "roomEvent";
}

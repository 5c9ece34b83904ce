/**
 * Where one feed stands in one room: the next sequence owed to the client,
 * and the catch-up from storage that fills any hole before live events go
 * on (never a silent gap). Owned by a FeedSession (feed-session.ts).
 */
import type { BusMessage } from "../../../gen/chat/internal/v1/bus_pb.js";
import type { Frame, RoomFrame } from "../frames.js";
import type { RoomListener } from "../hub/room-hub.js";
import type { Outgoing, SessionHost, SessionOptions } from "./session-types.js";

/** What a cursor needs of the session that owns it. */
export interface CursorOwner {
  readonly userId: bigint;
  readonly host: SessionHost;
  readonly options: SessionOptions;
  /** The stream ended: nothing more is owed. */
  readonly ended: boolean;
  push(f: Outgoing, priority?: boolean): void;
  /** Queues a frame ahead of the queued room events (priority events). */
  pushPriority(f: Outgoing): void;
  fail(err: unknown): void;
  /** Waits for room in the paced half of the queue; see FeedSession.reserve. */
  reserve(n: number): Promise<void>;
  unreserve(n: number): void;
  /** Stops carrying the cursor's room (membership ended). */
  endRoom(cursor: RoomCursor): void;
}

/** Per-room delivery state of one session. */
export class RoomCursor implements RoomListener {
  /** Next sequence owed to the client. */
  next: bigint;
  /** Deliver up to here, then stop carrying the room (membership ended). */
  endAt: bigint | undefined;
  /** The user rejoined at this sequence while endAt was pending. */
  rejoinAt: bigint | undefined;
  /** Set when the session stops carrying the room: nothing more is sent. */
  stopped = false;
  private catchingUp = false;
  /**
   * While catching up, the highest sequence the replay must reach. Live
   * events that arrive meanwhile only raise it: they are read back (from
   * the room hub's recent events, usually) in order, so nothing is held
   * per cursor however long the catch-up takes.
   */
  private target = 0n;

  constructor(
    private readonly session: CursorOwner,
    readonly roomId: bigint,
    after: bigint,
  ) {
    this.next = after + 1n;
  }

  onRoomEvent(f: RoomFrame): void {
    // Nothing is owed any more: without this, an ended session would
    // re-trigger catch-ups from resolved promises forever (a microtask loop
    // that starves the event loop).
    if (this.stopped || this.session.ended) return;
    if (f.seq < this.next) return;
    // An operator's priority event goes out at once, ahead of whatever is
    // queued (catch-ups included); its in-order copy follows below as usual.
    if (f.priority && (this.endAt === undefined || f.seq <= this.endAt)) {
      this.session.pushPriority(f.priority);
    }
    if (this.catchingUp) {
      if (f.seq > this.target) this.target = f.seq;
      return;
    }
    if (f.seq > this.next) {
      this.catchUp(f.seq);
      return;
    }
    this.deliver(f);
  }

  onRoomSignal(_msg: BusMessage, f: Frame): void {
    if (!this.stopped) this.session.push(f);
  }

  /**
   * Replays stored events up to `upTo` (and whatever arrives meanwhile)
   * before going live again. A second request while one runs only extends
   * the first.
   */
  catchUp(upTo: bigint): void {
    if (upTo > this.target) this.target = upTo;
    if (this.catchingUp) return;
    this.catchingUp = true;
    this.session.host.count?.("replays", 1);
    this.replay().catch((err: unknown) => {
      this.catchingUp = false;
      this.session.fail(err);
    });
  }

  private async replay(): Promise<void> {
    // Pages of at most a quarter of the queue, each taken only once the
    // session reserved room for it within the paced half of the queue:
    // however many rooms catch up at once, a reader that keeps up is never
    // cut off by a replay.
    const page = Math.max(1, Math.min(500, Math.floor(this.session.options.queueLimit / 4)));
    while (this.next <= this.target) {
      await this.session.reserve(page);
      try {
        if (this.session.ended || this.stopped) return;
        const upTo = this.target;
        const frames = await this.session.host.readEvents(this.roomId, this.next - 1n, upTo, page);
        if (this.session.ended || this.stopped) return;
        const before = this.next;
        for (const f of frames) if (f.seq === this.next) this.deliver(f);
        if (this.next === before && this.next <= upTo && !this.stopped && !this.session.ended) {
          // Storage had less than it must (nothing, or not the next one):
          // never continue past a hole, and never read the same page again.
          throw new Error(`room ${this.roomId}: events ${this.next}..${upTo} missing in storage`);
        }
      } finally {
        this.session.unreserve(page);
      }
    }
    // No await since the loop's last check: no live event slipped in between.
    this.catchingUp = false;
  }

  private deliver(f: RoomFrame): void {
    if (this.session.ended || this.stopped) return;
    this.next = f.seq + 1n;
    this.session.push(f.frame, f.priority !== undefined);
    // The room's own stream says the user left: stop here even if the
    // user-channel notice is late or was lost (bus outage), so nothing after
    // the removal ever reaches a former member.
    const change = f.event.change;
    if (
      change.case === "memberRemoved" &&
      change.value.userId === this.session.userId &&
      (this.endAt === undefined || f.seq < this.endAt)
    ) {
      this.endAt = f.seq;
    }
    if (this.endAt !== undefined && f.seq >= this.endAt) this.session.endRoom(this);
  }
}

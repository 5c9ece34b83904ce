/**
 * Knows, per room, how many of the run's messages every subscriber of the
 * room has received, in O(1) per delivery: a count per message, and a low
 * water mark that moves while the next message's count is complete. The
 * saturating publisher waits on it so that it never runs further ahead of
 * the slowest subscriber than `--max-lag` messages. It also remembers when
 * each message first arrived anywhere, so a delivery's "spread" (how long
 * after the first subscriber this one got it) isolates the fan-out from
 * the send path.
 */

/** Per-room state. */
interface RoomProgress {
  subscribers: number;
  /** Room sequence before the run's first message. */
  base: bigint;
  /** Subscribers that have message i (i = seq - base - 1). */
  counts: number[];
  /** When message i first reached a subscriber (wall-clock ms). */
  firstAt: number[];
  /** Messages 0..complete-1 reached every subscriber. */
  complete: number;
}

/** Delivery progress of every room. */
export class DeliveryTracker {
  private readonly rooms = new Map<bigint, RoomProgress>();
  private waiters: (() => void)[] = [];

  /** Registers a room, its subscriber count and its sequence before the run. */
  addRoom(roomId: bigint, subscribers: number, baseSeq: bigint): void {
    this.rooms.set(roomId, {
      subscribers,
      base: baseSeq,
      counts: [],
      firstAt: [],
      complete: 0,
    });
  }

  /**
   * A subscriber of `roomId` received the event at `seq` at `atMs`; returns
   * how long after the message's first delivery (0 for the first).
   */
  delivered(roomId: bigint, seq: bigint, atMs: number): number {
    const room = this.rooms.get(roomId);
    if (!room) return Number.NaN;
    const i = Number(seq - room.base) - 1;
    if (i < 0) return Number.NaN;
    while (room.counts.length <= i) {
      room.counts.push(0);
      room.firstAt.push(Number.NaN);
    }
    room.counts[i] = (room.counts[i] ?? 0) + 1;
    const first = room.firstAt[i] ?? Number.NaN;
    if (Number.isNaN(first)) room.firstAt[i] = atMs;
    const spread = Number.isNaN(first) ? 0 : atMs - first;
    if (i !== room.complete) return spread;
    while ((room.counts[room.complete] ?? 0) >= room.subscribers) room.complete += 1;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    return spread;
  }

  /** Messages of the room that every subscriber has received. */
  complete(roomId: bigint): number {
    return this.rooms.get(roomId)?.complete ?? 0;
  }

  /** Resolves true at the next progress of any room, false after `timeoutMs`. */
  nextProgress(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}

/**
 * Read receipts on the bus, coalesced: at most one per member and room per
 * `everyMs` from this instance, carrying the latest position. A member who
 * marks every message read as it arrives in a busy room would otherwise
 * send one event per message to every member's feed.
 */
import { channels, encodeBus } from "../bus/bus-format.js";

/** Sends the receipts of one process. */
export class ReceiptCoalescer {
  /** Last send per "<room>:<user>", for the interval. */
  private readonly lastSent = new Map<string, number>();
  /** Positions waiting for their slot, per "<room>:<user>". */
  private readonly pending = new Map<string, { roomId: bigint; userId: bigint; seq: bigint }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly send: (channel: string, payload: Uint8Array) => void,
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A member's read marker moved to `seq`: sent now, or with the next slot. */
  moved(roomId: bigint, userId: bigint, seq: bigint): void {
    const key = `${roomId}:${userId}`;
    const waiting = this.pending.get(key);
    if (waiting) {
      if (seq > waiting.seq) waiting.seq = seq;
      return;
    }
    const due = (this.lastSent.get(key) ?? Number.NEGATIVE_INFINITY) + this.everyMs;
    const wait = due - this.now();
    if (wait <= 0) {
      this.emit(key, roomId, userId, seq);
      return;
    }
    this.pending.set(key, { roomId, userId, seq });
    const timer = setTimeout(() => {
      this.timers.delete(key);
      const p = this.pending.get(key);
      this.pending.delete(key);
      if (p) this.emit(key, p.roomId, p.userId, p.seq);
    }, wait);
    timer.unref();
    this.timers.set(key, timer);
  }

  private emit(key: string, roomId: bigint, userId: bigint, lastReadSeq: bigint): void {
    this.lastSent.set(key, this.now());
    // Forget quiet keys so the map does not grow with every member ever seen.
    if (this.lastSent.size > 10_000) this.prune();
    this.send(
      channels.room(roomId),
      encodeBus({ case: "readReceipt", value: { roomId, userId, lastReadSeq } }),
    );
  }

  private prune(): void {
    const before = this.now() - this.everyMs;
    for (const [k, t] of this.lastSent) if (t < before) this.lastSent.delete(k);
  }

  /** Drops what is waiting (server shutdown). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
  }
}

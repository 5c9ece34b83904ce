/**
 * Group commit for sends. Calls wait here, per room, for a lane: one of a
 * few transactions in flight. A free lane takes what is waiting, the calls
 * of many rooms at once, and writes them in one transaction: the rooms
 * locked once, one INSERT per table, one COMMIT (send-batch.ts). A call that
 * finds a lane free starts at once, so an idle server adds no delay; under
 * load the calls that arrive while the lanes are busy make the next batches
 * larger instead of queueing one transaction each on the room locks.
 *
 * A room is in at most one transaction at a time, so its events are
 * published in sequence order, each batch's right after its COMMIT. Rooms
 * are served in the order their calls began waiting.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { Message } from "../../../gen/chat/v1/message_pb.js";
import { tuning } from "../../config.js";
import type { Clock } from "../../platform/clock.js";
import { unavailable } from "../../platform/errors.js";
import { isDuplicateKey, isTransientTxError } from "../../store/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import type { TxRunner } from "../../store/tx.js";
import type { RoomEventSink } from "../event-sink.js";
import { messageSelect, viewMessages } from "../message-view.js";
import { type BatchResult, type SendRequest, writeSendBatch } from "./send-batch.js";

/** A stored message and whether the key had been used before. */
export interface SendResult {
  message: Message;
  duplicate: boolean;
}

/** How much goes into one transaction, and how many run at once. */
export interface BatchLimits {
  /** Transactions in flight (at most the pool's connections). */
  lanes: number;
  /** Calls per transaction. */
  maxItems: number;
  /** Rough bytes of text and payload per transaction (keeps statements under max_allowed_packet). */
  maxBytes: number;
  /** Tries of a transaction that hit a deadlock or lock wait timeout. */
  maxTries: number;
  /** Calls waiting for a lane beyond which new ones are refused (Unavailable). */
  maxWaiting: number;
  /**
   * How long a call may wait for a room whose lock another transaction
   * holds (another instance's batch, a frozen process) before it is
   * answered Unavailable.
   */
  maxDeferMs: number;
}

/** From config.ts (tuning.sendBatch). */
export const defaultBatchLimits: BatchLimits = tuning.sendBatch;

interface Pending {
  req: SendRequest;
  resolve(r: SendResult): void;
  reject(err: unknown): void;
  /** The call's signal: a call whose client went away is not written. */
  signal: AbortSignal | undefined;
  /** `performance.now()` when its room was first found locked elsewhere. */
  deferredSince?: number;
}

/** First pause before a room found locked elsewhere is tried again; doubles to {@link maxCooldownMs}. */
const firstCooldownMs = 2;
const maxCooldownMs = 100;

/** Queues sends and writes them in batches. */
export class SendBatcher {
  /** Calls waiting, per room; a Map iterates in insertion order: oldest room first. */
  private readonly waiting = new Map<bigint, Pending[]>();
  /** Calls in `waiting`. */
  private waitingCount = 0;
  /** Rooms in a transaction now. */
  private readonly busy = new Set<bigint>();
  /** Rooms found locked elsewhere: not taken again before `until`. */
  private readonly cooling = new Map<bigint, { until: number; delayMs: number }>();
  private coolTimer: NodeJS.Timeout | undefined;
  /** Lanes running. */
  private lanes = 0;
  /** Lanes waiting for a connection, about to take a batch: 0 or 1. */
  private taking = 0;
  private readonly limits: BatchLimits;

  constructor(
    private readonly transaction: TxRunner,
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly sink: RoomEventSink,
    limits: Partial<BatchLimits> = {},
    /** Told of every committed batch: its size and its transaction's seconds (metrics). */
    private readonly observe?: (size: number, seconds: number) => void,
  ) {
    this.limits = { ...defaultBatchLimits, ...limits };
  }

  /**
   * Stores one message (or finds the original of its key) with the next
   * batch. `signal`: the call's; once aborted, the send is dropped unless a
   * batch already took it.
   */
  send(req: SendRequest, signal?: AbortSignal): Promise<SendResult> {
    if (this.waitingCount >= this.limits.maxWaiting) {
      // The database is not keeping up: shed load rather than queue without
      // bound. Retrying is safe, sends are idempotent.
      return Promise.reject(
        new ConnectError("too many messages waiting to be stored; retry later", Code.Unavailable),
      );
    }
    this.waitingCount++;
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(req.roomId);
      const pending: Pending = { req, resolve, reject, signal };
      if (queue) queue.push(pending);
      else this.waiting.set(req.roomId, [pending]);
      this.wake();
    });
  }

  /** Starts a lane if there is work and no lane is about to take it. */
  private wake(): void {
    if (this.lanes < this.limits.lanes && this.taking === 0 && this.ready()) {
      this.lanes++;
      void this.lane();
    }
  }

  private ready(): boolean {
    const now = performance.now();
    for (const roomId of this.waiting.keys()) if (this.free(roomId, now)) return true;
    return false;
  }

  /** Not in a lane, and not cooling down after it was found locked elsewhere. */
  private free(roomId: bigint, now: number): boolean {
    if (this.busy.has(roomId)) return false;
    const c = this.cooling.get(roomId);
    return c === undefined || c.until <= now;
  }

  /** Commits batches until nothing is left for it; settles every call it takes. */
  private async lane(): Promise<void> {
    try {
      // One lane at a time waits to take: it takes everything that arrived
      // meanwhile, and the others need not open a transaction for nothing.
      while (this.taking === 0 && this.ready()) {
        this.taking++;
        let batch: Pending[] | undefined;
        const takeOnce = (): Pending[] => {
          if (batch === undefined) {
            this.taking--;
            batch = this.take();
            // Left over (busy rooms aside): more than one batch's worth.
            this.wake();
          }
          return batch;
        };
        try {
          // Taken once the connection is ours: calls arriving meanwhile join.
          const result = await this.write(takeOnce);
          this.settle(takeOnce(), result);
        } catch (err) {
          if (batch === undefined) {
            // No connection, so nothing was tried: fail the calls that were
            // next rather than wait again for each.
            for (const p of takeOnce()) p.reject(err);
          } else {
            await this.recover(batch, err);
          }
        } finally {
          for (const p of batch ?? []) this.busy.delete(p.req.roomId);
        }
      }
    } finally {
      this.lanes--;
      // Rooms freed by the last batch may have calls waiting for a lane.
      this.wake();
    }
  }

  /** Nothing of `batch` was written: find what can still be saved. */
  private async recover(batch: Pending[], err: unknown): Promise<void> {
    if (batch.length === 1) {
      await this.failAlone(batch[0] as Pending, err);
      return;
    }
    // Something in the batch broke it: each call again on its own, so the
    // culprit fails alone. Arrival order keeps each room's sequence order.
    for (const p of batch) {
      try {
        this.settle([p], await this.write(() => [p]));
      } catch (e) {
        await this.failAlone(p, e);
      }
    }
  }

  /** A duplicate key that slipped past the lock means the key is used: return the original. */
  private async failAlone(p: Pending, err: unknown): Promise<void> {
    if (!isDuplicateKey(err)) {
      p.reject(err);
      return;
    }
    try {
      const row = await this.prisma.message.findFirst({
        where: { roomId: p.req.roomId, senderId: p.req.senderId, clientMsgId: p.req.clientMsgId },
        select: { id: true },
      });
      if (!row) throw err;
      p.resolve({ message: await this.view(row.id, p.req.senderId), duplicate: true });
    } catch (e) {
      p.reject(e);
    }
  }

  /** One transaction, tried again on deadlock or lock wait timeout. */
  private async write(items: () => Pending[]): Promise<BatchResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        let size = 0;
        const result = await this.transaction(async (tx) => {
          const reqs = items().map((p) => p.req);
          size = reqs.length;
          if (reqs.length === 0) return { outcomes: [], rooms: [] };
          return writeSendBatch(tx, reqs, () => this.clock.now());
        });
        if (size > 0) this.observe?.(size, (performance.now() - started) / 1000);
        return result;
      } catch (err) {
        if (attempt >= this.limits.maxTries || !isTransientTxError(err)) throw err;
      }
    }
  }

  /** The next batch: whole rooms, oldest first, skipping rooms in another lane. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    const now = performance.now();
    for (const [roomId, queue] of this.waiting) {
      if (!this.free(roomId, now)) continue;
      // Calls whose client went away (a backlog after a pause) are not written.
      for (let i = queue.length - 1; i >= 0; i--) {
        const p = queue[i] as Pending;
        if (p.signal?.aborted) {
          queue.splice(i, 1);
          this.waitingCount--;
          p.reject(
            new ConnectError("the client went away before the message was stored", Code.Canceled),
          );
        }
      }
      if (queue.length === 0) {
        this.waiting.delete(roomId);
        continue;
      }
      let n = 0;
      for (const p of queue) {
        if (batch.length + n >= this.limits.maxItems) break;
        // UTF-16 units x3 bounds the UTF-8 size; the event copies the text once more.
        const size = 2 * (p.req.text.length * 3 + (p.req.payload?.length ?? 0));
        if (batch.length + n > 0 && bytes + size > this.limits.maxBytes) break;
        bytes += size;
        n++;
      }
      if (n === 0) break;
      this.busy.add(roomId);
      // A room cut short keeps its place at the front.
      if (n === queue.length) this.waiting.delete(roomId);
      batch.push(...queue.splice(0, n));
      this.waitingCount -= n;
    }
    return batch;
  }

  /** After COMMIT: publish each room's events, then answer each call. */
  private settle(batch: Pending[], result: BatchResult): void {
    let publishError: unknown;
    for (const room of result.rooms) {
      try {
        this.sink.publish(room.events, room.bytes);
      } catch (err) {
        publishError ??= err;
      }
    }
    const stored = new Map<bigint, Promise<Message>>();
    const deferred: Pending[] = [];
    result.outcomes.forEach((o, i) => {
      const p = batch[i] as Pending;
      switch (o.kind) {
        case "created":
          if (publishError !== undefined) p.reject(publishError);
          else p.resolve({ message: o.message, duplicate: false });
          break;
        case "same": {
          const first = result.outcomes[o.index];
          if (first?.kind === "created") p.resolve({ message: first.message, duplicate: true });
          else p.reject(new Error("batch outcome refers to a message not created"));
          break;
        }
        case "stored": {
          // Its current state (edits, deletion, reactions), read after the
          // batch so that the lane need not wait for it.
          let view = stored.get(o.messageId);
          if (!view) {
            view = this.view(o.messageId, p.req.senderId);
            stored.set(o.messageId, view);
          }
          view.then((message) => p.resolve({ message, duplicate: true }), p.reject);
          break;
        }
        case "failed":
          p.reject(o.error satisfies ConnectError);
          break;
        case "deferred":
          deferred.push(p);
          break;
      }
    });
    for (const room of result.rooms) this.cooling.delete(room.roomId);
    if (deferred.length > 0) this.defer(deferred);
  }

  /**
   * Calls whose room another transaction held: back to the front of their
   * room's queue (their order kept), the room paused a little longer each
   * time; a call that waited longer than maxDeferMs is answered Unavailable.
   */
  private defer(calls: Pending[]): void {
    const now = performance.now();
    const byRoom = new Map<bigint, Pending[]>();
    for (const p of calls) {
      p.deferredSince ??= now;
      if (now - p.deferredSince > this.limits.maxDeferMs) {
        p.reject(
          unavailable(
            "the room is locked by another writer that does not answer; retry shortly",
            1_000,
            ErrorReason.DEPENDENCY_UNAVAILABLE,
          ),
        );
        continue;
      }
      const list = byRoom.get(p.req.roomId);
      if (list) list.push(p);
      else byRoom.set(p.req.roomId, [p]);
    }
    for (const [roomId, list] of byRoom) {
      const queue = this.waiting.get(roomId);
      if (queue) queue.unshift(...list);
      else this.waiting.set(roomId, list);
      this.waitingCount += list.length;
      const before = this.cooling.get(roomId);
      const delayMs = Math.min(maxCooldownMs, before ? before.delayMs * 2 : firstCooldownMs);
      this.cooling.set(roomId, { until: now + delayMs, delayMs });
    }
    this.scheduleCooled();
  }

  /** Wakes a lane when the first cooling room may be tried again. */
  private scheduleCooled(): void {
    if (this.coolTimer) return;
    let first = Number.POSITIVE_INFINITY;
    for (const c of this.cooling.values()) first = Math.min(first, c.until);
    if (first === Number.POSITIVE_INFINITY) return;
    this.coolTimer = setTimeout(
      () => {
        this.coolTimer = undefined;
        const now = performance.now();
        for (const [roomId, c] of this.cooling) {
          if (c.until <= now && !this.waiting.has(roomId)) this.cooling.delete(roomId);
        }
        this.wake();
        if ([...this.cooling.values()].some((c) => c.until > now)) this.scheduleCooled();
      },
      Math.max(0, first - performance.now()),
    );
    this.coolTimer.unref();
  }

  private async view(messageId: bigint, viewerId: bigint): Promise<Message> {
    const row = await this.prisma.message.findUniqueOrThrow({
      where: { id: messageId },
      select: messageSelect,
    });
    const [message] = await viewMessages(this.prisma, [row], viewerId);
    if (!message) throw new Error("message vanished");
    return message;
  }
}

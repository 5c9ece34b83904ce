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
import type { Message } from "../../gen/chat/v1/message_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import type { Clock } from "../clock.js";
import { isTransientTxError } from "../db/errors.js";
import type { RoomEventSink } from "./event-sink.js";
import { messageSelect, viewMessages } from "./message-view.js";
import { type BatchResult, type SendRequest, writeSendBatch } from "./send-batch.js";
import { isDuplicateKey, type TxRunner } from "./sql-tx.js";

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
}

/** Defaults: batches large enough to absorb a hot room, small enough to keep each COMMIT short. */
export const defaultBatchLimits: BatchLimits = {
  lanes: 4,
  maxItems: 256,
  maxBytes: 4 * 1024 * 1024,
  maxTries: 3,
  maxWaiting: 20_000,
};

interface Pending {
  req: SendRequest;
  resolve(r: SendResult): void;
  reject(err: unknown): void;
}

/** Queues sends and writes them in batches. */
export class SendBatcher {
  /** Calls waiting, per room; a Map iterates in insertion order: oldest room first. */
  private readonly waiting = new Map<bigint, Pending[]>();
  /** Calls in `waiting`. */
  private waitingCount = 0;
  /** Rooms in a transaction now. */
  private readonly busy = new Set<bigint>();
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
  ) {
    this.limits = { ...defaultBatchLimits, ...limits };
  }

  /** Stores one message (or finds the original of its key) with the next batch. */
  send(req: SendRequest): Promise<SendResult> {
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
      const pending = { req, resolve, reject };
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
    for (const roomId of this.waiting.keys()) if (!this.busy.has(roomId)) return true;
    return false;
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
        return await this.transaction(async (tx) => {
          const reqs = items().map((p) => p.req);
          if (reqs.length === 0) return { outcomes: [], rooms: [] };
          return writeSendBatch(tx, reqs, () => this.clock.now());
        });
      } catch (err) {
        if (attempt >= this.limits.maxTries || !isTransientTxError(err)) throw err;
      }
    }
  }

  /** The next batch: whole rooms, oldest first, skipping rooms in another lane. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    for (const [roomId, queue] of this.waiting) {
      if (this.busy.has(roomId)) continue;
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
      }
    });
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

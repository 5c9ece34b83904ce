/**
 * The one way to change a room. Every change runs in a MySQL transaction that
 * first locks the room row (SELECT ... FOR UPDATE); the change takes
 * last_seq + 1 (+2, ...) and its event row is inserted in the same
 * transaction, and last_seq is written back before COMMIT. Writers of one
 * room therefore queue on the row lock, and a rolled-back change gives its
 * numbers back: the sequence stays dense.
 *
 * New messages take the batched path, `send`: same lock and rules, many
 * messages per transaction.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import type { Clock } from "../platform/clock.js";
import type { Prisma, PrismaClient } from "../store/prisma.js";
import { advanceRoom, lockRoom } from "../store/sql/rooms.js";
import { poolTransactions, prismaTransactions, type SendPool, txOptions } from "../store/tx.js";
import type { RoomEventSink } from "./event-sink.js";
import type { RoomChange, Tx } from "./room-change.js";
import type { SendRequest } from "./send/send-batch.js";
import { SendBatcher, type SendResult } from "./send/send-batcher.js";

/** Runs room changes with dense sequence numbers and publishes them after commit. */
export class RoomWriter {
  private readonly sends: SendBatcher;

  /**
   * `sendPool` (from createSendPool in store/tx.ts; the caller ends it) carries
   * the send hot path; without it sends run through Prisma, batched alike.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly sink: RoomEventSink,
    sendPool?: SendPool,
    /** Told of every committed send batch (metrics). */
    observeBatch?: (size: number, seconds: number) => void,
  ) {
    this.sends = new SendBatcher(
      sendPool ? poolTransactions(sendPool) : prismaTransactions(prisma),
      prisma,
      clock,
      sink,
      {},
      observeBatch,
    );
  }

  /**
   * Stores a new message, or returns the original of its idempotency key.
   * Concurrent sends share a transaction, whatever their rooms (group commit,
   * see send/send-batcher.ts), under the same rules as {@link change}: the room's lock,
   * dense sequence numbers, events published after COMMIT.
   */
  send(req: SendRequest, signal?: AbortSignal): Promise<SendResult> {
    return this.sends.send(req, signal);
  }

  /**
   * Runs `fn` inside a transaction holding the room's lock. Unknown room:
   * NotFound. Throwing from `fn` rolls everything back, sequence included.
   */
  async change<T>(roomId: bigint, fn: (c: RoomChange) => Promise<T>): Promise<T> {
    const out = await this.transaction((tx) => this.run(tx, roomId, fn));
    this.publish(out.events, out.bytes);
    return out.value;
  }

  /**
   * Creates a room row and runs `fn` as its first change (seq 1, ...), in
   * one transaction: nobody ever sees a room without its first events.
   */
  async create<T>(
    data: Omit<Prisma.RoomUncheckedCreateInput, "createdAt" | "updatedAt" | "lastActivityAt">,
    fn: (c: RoomChange) => Promise<T>,
  ): Promise<{ roomId: bigint; result: T }> {
    const out = await this.transaction(async (tx) => {
      const now = this.clock.now();
      const room = await tx.room.create({
        data: { ...data, createdAt: now, updatedAt: now, lastActivityAt: now },
        select: { id: true },
      });
      const r = await this.run(tx, room.id, fn);
      return { ...r, roomId: room.id };
    });
    this.publish(out.events, out.bytes);
    return { roomId: out.roomId, result: out.value };
  }

  private transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn, txOptions);
  }

  private publish(events: RoomEvent[], bytes: Uint8Array[]): void {
    if (events.length > 0) this.sink.publish(events, bytes);
  }

  private async run<T>(
    tx: Tx,
    roomId: bigint,
    fn: (c: RoomChange) => Promise<T>,
  ): Promise<{ value: T; events: RoomEvent[]; bytes: Uint8Array[] }> {
    const room = await lockRoom(tx, roomId);
    if (!room) throw new ConnectError("room not found", Code.NotFound);
    const now = this.clock.now();
    const pending = new Map<bigint, RoomEvent | undefined>();
    let seq = room.lastSeq;
    const value = await fn({
      tx,
      room,
      now,
      nextSeq() {
        seq += 1n;
        pending.set(seq, undefined);
        return seq;
      },
      emit(s, actorId, change) {
        if (!pending.has(s) || pending.get(s))
          throw new Error(`sequence ${s} was not reserved or is used`);
        const event = create(RoomEventSchema, {
          roomId,
          seq: s,
          time: timestampFromDate(now),
          actorId: actorId ?? 0n,
          change,
        });
        pending.set(s, event);
        return event;
      },
    });
    const events: RoomEvent[] = [];
    for (const [s, e] of pending) {
      // A reserved number without an event would be a hole.
      if (!e) throw new Error(`sequence ${s} reserved but never emitted`);
      events.push(e);
    }
    if (events.length === 0) return { value, events, bytes: [] };
    events.sort((a, b) => (a.seq < b.seq ? -1 : 1));
    // Encoded once: stored for replay and handed to the live feeds as is.
    const bytes = events.map((e) => toBinary(RoomEventSchema, e));
    await tx.roomEvent.createMany({
      data: events.map((e, i) => ({
        roomId,
        seq: e.seq,
        type: e.change.case ?? "unknown",
        actorId: e.actorId === 0n ? null : e.actorId,
        payload: bytes[i] as Uint8Array<ArrayBuffer>,
        createdAt: now,
      })),
    });
    await advanceRoom(tx, roomId, seq, now);
    return { value, events, bytes };
  }
}

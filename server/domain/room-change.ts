/**
 * What one room change works with (room-writer.ts runs them): the open
 * transaction, the room row as locked, and the room's sequence.
 */
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import type { Prisma } from "../store/prisma.js";
import type { LockedRoom } from "../store/sql/rooms.js";

/** A Prisma client bound to the open transaction. */
export type Tx = Prisma.TransactionClient;

/** The room row as locked at the start of a transaction (store/sql/rooms.ts). */
export type { LockedRoom } from "../store/sql/rooms.js";

/** What a change sees: the transaction, the locked room, and the sequence. */
export interface RoomChange {
  tx: Tx;
  room: LockedRoom;
  /** Commit time used for every row and event of this change. */
  now: Date;
  /** Reserves the next sequence number. Each must be used by one `emit`. */
  nextSeq(): bigint;
  /** Records the event for a reserved sequence number. */
  emit(seq: bigint, actorId: bigint | null, change: RoomEvent["change"]): RoomEvent;
}

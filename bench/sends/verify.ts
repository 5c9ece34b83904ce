/**
 * After a sends run, checks the database against what the server
 * acknowledged (lib/db-checks.ts, after the server has stopped):
 *
 * - per room, `room_events` and `messages` hold seq 1..rooms.last_seq
 *   without holes, and every message row has its event;
 * - every acknowledged message is stored exactly once, as acknowledged,
 *   its event is `messageCreated`, no two acknowledgements share a
 *   (room, seq), and none says `duplicate` (every client_msg_id is sent
 *   once);
 * - rows of this run that were not acknowledged belong to calls that
 *   failed (e.g. a deadline that ran out after the commit): reported, not
 *   an error; any other such row is.
 */
import { type Ack, checkAcks, checkDenseRooms, connect } from "../lib/db-checks.js";

/** What the check found. */
export interface SendsVerification {
  rooms: number;
  /** Sum of last_seq over the rooms. */
  events: number;
  messagesOfRun: number;
  acksChecked: number;
  /** Acknowledged but no row with that client_msg_id. */
  ackedMissing: number;
  /** Row differs from the ack (id, room, sender or seq) or its event is not messageCreated. */
  ackedMismatch: number;
  /** client_msg_ids with more than one row. */
  storedTwice: number;
  /** Two acks with the same room and seq. */
  acksSharingSeq: number;
  /** Acks flagged `duplicate` (every client_msg_id is sent once: must be 0). */
  duplicateAcks: number;
  /** Rows of failed calls (committed although the client saw an error). */
  storedAfterFailure: number;
  /** Rows of this run that match no call at all. */
  storedUnknown: number;
  /** Rooms whose room_events or messages are not seq 1..last_seq. */
  roomsWithHoles: number;
  /** Message rows without an event at their seq. */
  messagesWithoutEvent: number;
  /** OK, or what is wrong (first few examples). */
  problems: string[];
}

/** Runs the checks. `failed`: `sender/client_msg_id` of calls that failed. */
export async function verifySends(
  databaseUrl: string,
  rooms: bigint[],
  acks: Ack[],
  clientIdPrefix: string,
  failed: string[],
): Promise<SendsVerification> {
  const conn = await connect(databaseUrl);
  const problems: string[] = [];
  const example = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  try {
    const dense = await checkDenseRooms(conn, rooms, example);
    let duplicateAcks = 0;
    for (const a of acks) {
      if (!a.duplicate) continue;
      duplicateAcks += 1;
      example(`${a.clientMsgId}: acknowledged as a duplicate`);
    }
    const stored = await checkAcks(conn, rooms, acks, example, {
      clientIdPrefix,
      failed: new Set(failed),
    });
    for (const key of stored.storedUnacked)
      example(`${key}: stored but never acknowledged nor failed`);
    return {
      rooms: rooms.length,
      events: dense.events,
      messagesOfRun: stored.messagesOfRun,
      acksChecked: stored.acks,
      ackedMissing: stored.ackedMissing,
      ackedMismatch: stored.ackedMismatch,
      storedTwice: stored.storedTwice,
      acksSharingSeq: stored.acksSharingSeq,
      duplicateAcks,
      storedAfterFailure: stored.storedAfterFailure,
      storedUnknown: stored.storedUnacked.length,
      roomsWithHoles: dense.roomsWithHoles,
      messagesWithoutEvent: dense.messagesWithoutEvent,
      problems,
    };
  } finally {
    await conn.end();
  }
}

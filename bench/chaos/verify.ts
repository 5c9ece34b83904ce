/**
 * The checks after the quiet period, against the database read directly
 * (the mariadb driver on the private MariaDB, not through the server):
 *
 * - every room's `room_events` and `messages` hold seq 1..last_seq with no
 *   hole (`checkDenseRooms` in lib/db-checks.ts);
 * - every acknowledged message is stored exactly once: one row per
 *   (sender, client_msg_id), with the acknowledged id, room and seq, and a
 *   `messageCreated` event at that seq; no client_msg_id of a sender twice
 *   (`checkAcks` in lib/db-checks.ts);
 * - every subscriber's view of every room equals the database from the
 *   position it started at: each sequence up to the head present once,
 *   with the stored event's bytes (stream) or the stored message's id
 *   (reloaded after `reset`).
 */
import type * as mariadb from "mariadb";
import { checkAcks, checkDenseRooms, connect } from "../lib/db-checks.js";
import { fingerprint, idFingerprint, Source } from "./room-view.js";
import type { ChaosSender } from "./sender.js";
import type { ChaosSubscriber } from "./subscriber.js";

/** What the database check found. */
export interface DatabaseCheck {
  rooms: number;
  /** Sum of last_seq over the rooms. */
  events: number;
  roomsWithHoles: number;
  /** Sequences without a room_events row. */
  missingEvents: number;
  messagesWithoutEvent: number;
  acks: number;
  /** Acknowledged, but no row with that client_msg_id. */
  ackedMissing: number;
  /** Row differs from the ack (id, room, sender, seq), or its event is not messageCreated. */
  ackedMismatch: number;
  /** Two acks naming the same room and seq. */
  acksSharingSeq: number;
  /** (sender, client_msg_id) stored more than once. */
  storedTwice: number;
  /** Rows of chaos senders never acknowledged (a sender still trying at the end). */
  storedUnacked: number;
}

/** What the view check found, over all subscribers. */
export interface ViewCheck {
  /**
   * Sequences after a subscriber's start, up to its stream position, that
   * it never got (a hole it was never told about, or a reload that did not
   * finish).
   */
  missing: number;
  /** Sequences after a subscriber's stream position up to the head (it is behind: stuck). */
  behind: number;
  /** Entries that differ from the database. */
  mismatched: number;
  /** Entries beyond the room's head. */
  beyondHead: number;
  /** Subscribers with at least one of the above. */
  subscribersWrong: number;
  /** Events compared. */
  compared: number;
}

/** Everything checked against the database. */
export interface Verification {
  database: DatabaseCheck;
  views: ViewCheck;
  problems: string[];
}

const big = (v: unknown) => BigInt(v as bigint | number | string);

/** Runs every check. */
export async function verifyRun(
  databaseUrl: string,
  rooms: readonly bigint[],
  senders: readonly ChaosSender[],
  subscribers: readonly ChaosSubscriber[],
): Promise<Verification> {
  const conn = await connect(databaseUrl);
  const problems: string[] = [];
  const example = (p: string) => {
    if (problems.length < 30) problems.push(p);
  };
  try {
    const dense = await checkDenseRooms(conn, rooms, example);
    const acked = await checkAcks(
      conn,
      rooms,
      senders.flatMap((s) => s.acks),
      example,
    );
    const views = await checkViews(conn, rooms, dense.heads, subscribers, example);
    return {
      database: {
        rooms: rooms.length,
        events: dense.events,
        roomsWithHoles: dense.roomsWithHoles,
        missingEvents: dense.missingEvents,
        messagesWithoutEvent: dense.messagesWithoutEvent,
        acks: acked.acks,
        ackedMissing: acked.ackedMissing,
        ackedMismatch: acked.ackedMismatch,
        acksSharingSeq: acked.acksSharingSeq,
        storedTwice: acked.storedTwice,
        storedUnacked: acked.storedUnacked.length,
      },
      views,
      problems,
    };
  } finally {
    await conn.end();
  }
}

async function checkViews(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
  heads: Map<bigint, bigint>,
  subscribers: readonly ChaosSubscriber[],
  example: (p: string) => void,
): Promise<ViewCheck> {
  // Per room, by seq - 1: the stored event's fingerprint and the message id's.
  const eventPrints = new Map<bigint, Uint32Array>();
  const messagePrints = new Map<bigint, Uint32Array>();
  for (const roomId of rooms) {
    const head = Number(heads.get(roomId) ?? 0n);
    const ev = new Uint32Array(head);
    const msg = new Uint32Array(head);
    const events: { seq: unknown; payload: Buffer }[] = await conn.query(
      "SELECT seq, payload FROM room_events WHERE room_id = ?",
      [String(roomId)],
    );
    for (const e of events) {
      const i = Number(e.seq) - 1;
      if (i >= 0 && i < head) ev[i] = fingerprint(e.payload);
    }
    const messages: { seq: unknown; id: unknown }[] = await conn.query(
      "SELECT seq, id FROM messages WHERE room_id = ?",
      [String(roomId)],
    );
    for (const m of messages) {
      const i = Number(m.seq) - 1;
      if (i >= 0 && i < head) msg[i] = idFingerprint(big(m.id));
    }
    eventPrints.set(roomId, ev);
    messagePrints.set(roomId, msg);
  }
  let missing = 0;
  let behind = 0;
  let mismatched = 0;
  let beyondHead = 0;
  let subscribersWrong = 0;
  let compared = 0;
  for (const s of subscribers) {
    let wrong = false;
    for (const view of s.views.values()) {
      const head = heads.get(view.roomId) ?? 0n;
      const ev = eventPrints.get(view.roomId);
      const msg = messagePrints.get(view.roomId);
      if (!ev || !msg) {
        wrong = true;
        example(`subscriber ${s.index}: room ${view.roomId} is not a room of the run`);
        continue;
      }
      let missingHere = 0;
      let firstMissing: bigint | undefined;
      const position = view.next - 1n;
      if (head > position) behind += Number(head - position);
      for (let seq = view.start + 1n; seq <= head; seq++) {
        const e = view.entry(seq);
        if (e.hits === 0) {
          if (seq > position) continue;
          missingHere += 1;
          firstMissing ??= seq;
          continue;
        }
        compared += 1;
        const i = Number(seq) - 1;
        const want = e.source === Source.stream ? ev[i] : msg[i];
        if (e.print !== want) {
          mismatched += 1;
          wrong = true;
          example(
            `subscriber ${s.index}: room ${view.roomId} seq ${seq} (${e.source === Source.stream ? "stream" : "reload"}) differs from the database`,
          );
        }
      }
      if (missingHere > 0) {
        missing += missingHere;
        wrong = true;
        example(
          `subscriber ${s.index}: room ${view.roomId} misses ${missingHere} of seq ${view.start + 1n}..${position} (first ${firstMissing}; head ${head})`,
        );
      }
      const beyond = Number(view.start) + view.size - Number(head);
      if (beyond > 0) {
        beyondHead += beyond;
        wrong = true;
        example(
          `subscriber ${s.index}: room ${view.roomId} has ${beyond} events beyond the head ${head}`,
        );
      }
    }
    if (wrong) subscribersWrong += 1;
  }
  return { missing, behind, mismatched, beyondHead, subscribersWrong, compared };
}

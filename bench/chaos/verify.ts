/**
 * The checks after the quiet period, against the database read directly
 * (the mariadb driver on the private MariaDB, not through the server):
 *
 * - every room's `room_events` and `messages` hold seq 1..last_seq with no
 *   hole (bench/sends-verify.ts `checkDenseRooms`);
 * - every acknowledged message is stored exactly once: one row per
 *   (sender, client_msg_id), with the acknowledged id, room and seq, and a
 *   `messageCreated` event at that seq; no client_msg_id of a sender twice;
 * - every subscriber's view of every room equals the database from the
 *   position it started at: each sequence up to the head present once,
 *   with the stored event's bytes (stream) or the stored message's id
 *   (reloaded after `reset`).
 */
import * as mariadb from "mariadb";
import { connectionConfig, parseDatabaseUrl } from "../../server/db/migrate.js";
import { checkDenseRooms } from "../sends-verify.js";
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
  /** Row differs from the ack (id, room, seq), or its event is not messageCreated. */
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

/** Opens a connection to the run's database. */
export function connect(databaseUrl: string): Promise<mariadb.Connection> {
  return mariadb.createConnection(connectionConfig(parseDatabaseUrl(databaseUrl)));
}

/** The rooms' last sequences now. */
export async function roomHeads(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
): Promise<Map<bigint, bigint>> {
  const heads = new Map<bigint, bigint>();
  for (const r of await conn.query(`SELECT id, last_seq FROM rooms WHERE id IN (?)`, [
    rooms.map(String),
  ])) {
    heads.set(big(r.id), big(r.last_seq));
  }
  return heads;
}

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
    const database = await checkAcks(conn, rooms, senders, example);
    const views = await checkViews(conn, rooms, dense.heads, subscribers, example);
    return {
      database: {
        rooms: rooms.length,
        events: dense.events,
        roomsWithHoles: dense.roomsWithHoles,
        missingEvents: dense.missingEvents,
        messagesWithoutEvent: dense.messagesWithoutEvent,
        ...database,
      },
      views,
      problems,
    };
  } finally {
    await conn.end();
  }
}

async function checkAcks(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
  senders: readonly ChaosSender[],
  example: (p: string) => void,
): Promise<
  Omit<
    DatabaseCheck,
    "rooms" | "events" | "roomsWithHoles" | "missingEvents" | "messagesWithoutEvent"
  >
> {
  const rows: {
    id: unknown;
    room_id: unknown;
    seq: unknown;
    sender_id: unknown;
    client_msg_id: string;
    type: string | null;
  }[] = await conn.query(
    `SELECT m.id, m.room_id, m.seq, m.sender_id, m.client_msg_id, e.type
     FROM messages m LEFT JOIN room_events e ON e.room_id = m.room_id AND e.seq = m.seq
     WHERE m.room_id IN (?) AND m.client_msg_id IS NOT NULL`,
    [rooms.map(String)],
  );
  const byKey = new Map<string, (typeof rows)[number][]>();
  for (const r of rows) {
    const key = `${r.sender_id}/${r.client_msg_id}`;
    const list = byKey.get(key);
    if (list) list.push(r);
    else byKey.set(key, [r]);
  }
  let storedTwice = 0;
  for (const [key, list] of byKey) {
    if (list.length > 1) {
      storedTwice += list.length - 1;
      example(
        `${key}: stored ${list.length} times (${list.map((r) => `room ${r.room_id} seq ${r.seq}`).join(", ")})`,
      );
    }
  }
  let acks = 0;
  let ackedMissing = 0;
  let ackedMismatch = 0;
  let acksSharingSeq = 0;
  const acked = new Set<string>();
  const seqs = new Set<string>();
  for (const s of senders) {
    for (const a of s.acks) {
      acks += 1;
      const key = `${a.senderId}/${a.clientMsgId}`;
      acked.add(key);
      const at = `${a.roomId}/${a.seq}`;
      if (seqs.has(at)) {
        acksSharingSeq += 1;
        example(`room ${a.roomId} seq ${a.seq}: acknowledged to two messages`);
      }
      seqs.add(at);
      const r = byKey.get(key)?.[0];
      if (!r) {
        ackedMissing += 1;
        example(`${key}: acknowledged (room ${a.roomId} seq ${a.seq}) but not stored`);
        continue;
      }
      if (
        big(r.id) !== a.messageId ||
        big(r.room_id) !== a.roomId ||
        big(r.seq) !== a.seq ||
        r.type !== "messageCreated"
      ) {
        ackedMismatch += 1;
        example(
          `${key}: acknowledged id ${a.messageId} room ${a.roomId} seq ${a.seq}, stored id ${r.id} room ${r.room_id} seq ${r.seq} event ${r.type}`,
        );
      }
    }
  }
  let storedUnacked = 0;
  for (const key of byKey.keys()) if (!acked.has(key)) storedUnacked += 1;
  return { acks, ackedMissing, ackedMismatch, acksSharingSeq, storedTwice, storedUnacked };
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

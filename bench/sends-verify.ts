/**
 * After a sends run, checks the database against what the server
 * acknowledged (read directly with the mariadb driver, after the server
 * has stopped):
 *
 * - per room, `room_events` holds seq 1..rooms.last_seq without holes
 *   (count = last_seq, min 1, max last_seq; (room_id, seq) is the key);
 * - per room, `messages` holds seq 1..last_seq too: in this scenario
 *   every room change (creation, invitations, messages) has a message
 *   row, SYSTEM or TEXT, at its own sequence, and every message row has
 *   its event;
 * - every acknowledged message is stored exactly once (one row with its
 *   client_msg_id), with the acknowledged id, room, sender and seq, and
 *   its event is `messageCreated`; no two acknowledgements share a
 *   (room, seq);
 * - rows of this run that were not acknowledged belong to calls that
 *   failed (e.g. a deadline that ran out after the commit): reported, not
 *   an error; any other such row is.
 */
import * as mariadb from "mariadb";
import { connectionConfig, parseDatabaseUrl } from "../server/db/migrate.js";
import type { Ack } from "./sends-ipc.js";

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

const n = (v: unknown) => Number(v);
const big = (v: unknown) => BigInt(v as bigint | number | string);

/** Runs the checks. `failedIds`: client_msg_ids of calls that failed. */
export async function verifySends(
  databaseUrl: string,
  rooms: bigint[],
  acks: Ack[],
  clientIdPrefix: string,
  failedIds: string[],
): Promise<SendsVerification> {
  const conn = await mariadb.createConnection(connectionConfig(parseDatabaseUrl(databaseUrl)));
  const problems: string[] = [];
  const example = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  try {
    const ids = rooms.map(String);
    const dense = await checkDenseRooms(conn, rooms, example);
    const { roomsWithHoles, events, messagesWithoutEvent } = dense;

    // This run's messages, by client_msg_id.
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
       WHERE m.room_id IN (?) AND m.client_msg_id LIKE ?`,
      [ids, `${clientIdPrefix}%`],
    );
    const byKey = new Map<string, (typeof rows)[number][]>();
    for (const r of rows) {
      const list = byKey.get(r.client_msg_id);
      if (list) list.push(r);
      else byKey.set(r.client_msg_id, [r]);
    }
    let storedTwice = 0;
    for (const [key, list] of byKey) {
      if (list.length > 1) {
        storedTwice += 1;
        example(`${key}: stored ${list.length} times`);
      }
    }
    let ackedMissing = 0;
    let ackedMismatch = 0;
    let duplicateAcks = 0;
    let acksSharingSeq = 0;
    const seen = new Set<string>();
    const acked = new Set<string>();
    for (const a of acks) {
      acked.add(a.clientMsgId);
      if (a.duplicate) {
        duplicateAcks += 1;
        example(`${a.clientMsgId}: acknowledged as a duplicate`);
      }
      const at = `${a.roomId}/${a.seq}`;
      if (seen.has(at)) {
        acksSharingSeq += 1;
        example(`room ${a.roomId} seq ${a.seq}: acknowledged twice`);
      }
      seen.add(at);
      const r = byKey.get(a.clientMsgId)?.[0];
      if (!r) {
        ackedMissing += 1;
        example(`${a.clientMsgId}: acknowledged (room ${a.roomId} seq ${a.seq}) but not stored`);
        continue;
      }
      if (
        big(r.id) !== a.messageId ||
        big(r.room_id) !== a.roomId ||
        big(r.seq) !== a.seq ||
        big(r.sender_id) !== a.senderId ||
        r.type !== "messageCreated"
      ) {
        ackedMismatch += 1;
        example(
          `${a.clientMsgId}: acknowledged id ${a.messageId} room ${a.roomId} seq ${a.seq}, stored id ${r.id} room ${r.room_id} seq ${r.seq} event ${r.type}`,
        );
      }
    }
    const failed = new Set(failedIds);
    let storedAfterFailure = 0;
    let storedUnknown = 0;
    for (const key of byKey.keys()) {
      if (acked.has(key)) continue;
      if (failed.has(key)) storedAfterFailure += 1;
      else {
        storedUnknown += 1;
        example(`${key}: stored but never acknowledged nor failed`);
      }
    }
    return {
      rooms: rooms.length,
      events,
      messagesOfRun: rows.length,
      acksChecked: acks.length,
      ackedMissing,
      ackedMismatch,
      storedTwice,
      acksSharingSeq,
      duplicateAcks,
      storedAfterFailure,
      storedUnknown,
      roomsWithHoles,
      messagesWithoutEvent,
      problems,
    };
  } finally {
    await conn.end();
  }
}

/** What {@link checkDenseRooms} found. */
export interface DenseRooms {
  /** rooms.last_seq of every room found. */
  heads: Map<bigint, bigint>;
  /** Sum of last_seq over the rooms. */
  events: number;
  /** Rooms whose room_events or messages are not seq 1..last_seq (or that are missing). */
  roomsWithHoles: number;
  /** Sequences in 1..last_seq without a room_events row, over all rooms. */
  missingEvents: number;
  /** Message rows without an event at their seq. */
  messagesWithoutEvent: number;
}

/**
 * Per room, `room_events` and `messages` hold seq 1..rooms.last_seq
 * without holes (count = last_seq, min 1, max last_seq; (room_id, seq) is
 * unique in both), and every message row has its event: what every room
 * of a run that only creates rooms, invites and sends messages must look
 * like. Problems go to `example`.
 */
export async function checkDenseRooms(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
  example: (problem: string) => void,
): Promise<DenseRooms> {
  const ids = rooms.map(String);
  const heads = new Map<bigint, bigint>();
  for (const r of await conn.query(`SELECT id, last_seq FROM rooms WHERE id IN (?)`, [ids])) {
    heads.set(big(r.id), big(r.last_seq));
  }
  const ranges = async (table: string) => {
    const m = new Map<bigint, { count: bigint; lo: bigint; hi: bigint }>();
    const rows = await conn.query(
      `SELECT room_id, COUNT(*) AS c, MIN(seq) AS lo, MAX(seq) AS hi FROM ${table} WHERE room_id IN (?) GROUP BY room_id`,
      [ids],
    );
    for (const r of rows) m.set(big(r.room_id), { count: big(r.c), lo: big(r.lo), hi: big(r.hi) });
    return m;
  };
  const eventRanges = await ranges("room_events");
  const messageRanges = await ranges("messages");
  let roomsWithHoles = 0;
  let events = 0;
  let missingEvents = 0;
  for (const roomId of rooms) {
    const head = heads.get(roomId);
    if (head === undefined) {
      roomsWithHoles += 1;
      example(`room ${roomId}: missing`);
      continue;
    }
    events += Number(head);
    let holes = false;
    for (const [table, m] of [
      ["room_events", eventRanges],
      ["messages", messageRanges],
    ] as const) {
      const x = m.get(roomId) ?? { count: 0n, lo: 0n, hi: 0n };
      if (x.count !== head || (head > 0n && (x.lo !== 1n || x.hi !== head))) {
        holes = true;
        example(
          `room ${roomId}: ${table} has ${x.count} rows, seq ${x.lo}..${x.hi}, last_seq ${head}`,
        );
      }
      if (table === "room_events" && x.count < head) missingEvents += Number(head - x.count);
    }
    if (holes) roomsWithHoles += 1;
  }
  const [orphans] = await conn.query(
    `SELECT COUNT(*) AS c FROM messages m LEFT JOIN room_events e
       ON e.room_id = m.room_id AND e.seq = m.seq
     WHERE m.room_id IN (?) AND e.seq IS NULL`,
    [ids],
  );
  const messagesWithoutEvent = n(orphans.c);
  if (messagesWithoutEvent > 0) example(`${messagesWithoutEvent} message rows without an event`);
  return { heads, events, roomsWithHoles, missingEvents, messagesWithoutEvent };
}

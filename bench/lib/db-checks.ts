/**
 * Checks of a run's rooms against the database, read directly with the
 * mariadb driver (not through the server), shared by the sends scenario
 * (sends/verify.ts) and the chaos run (chaos/verify.ts):
 *
 * - {@link checkDenseRooms}: per room, `room_events` and `messages` hold
 *   seq 1..rooms.last_seq without holes, and every message row has its
 *   event;
 * - {@link checkAcks}: every acknowledged message is stored exactly once,
 *   as acknowledged, and which stored messages were never acknowledged.
 */
import * as mariadb from "mariadb";
import { connectionConfig, parseDatabaseUrl } from "../../server/store/migrate/migrate.js";

/** One acknowledged SendMessage, as the client saw it. */
export interface Ack {
  roomId: bigint;
  seq: bigint;
  messageId: bigint;
  senderId: bigint;
  clientMsgId: string;
  /** The server said it had it already (an earlier attempt committed). */
  duplicate: boolean;
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
 * like (every change has a message row, SYSTEM or TEXT, at its own
 * sequence). Problems go to `example`.
 */
export async function checkDenseRooms(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
  example: (problem: string) => void,
): Promise<DenseRooms> {
  const ids = rooms.map(String);
  const heads = await roomHeads(conn, rooms);
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
  const messagesWithoutEvent = Number(orphans.c);
  if (messagesWithoutEvent > 0) example(`${messagesWithoutEvent} message rows without an event`);
  return { heads, events, roomsWithHoles, missingEvents, messagesWithoutEvent };
}

/** What {@link checkAcks} found. */
export interface AckCheck {
  /** Acks checked. */
  acks: number;
  /** Message rows of the run (client_msg_id with the run's prefix). */
  messagesOfRun: number;
  /** Acknowledged, but no row with that sender and client_msg_id. */
  ackedMissing: number;
  /** Row differs from the ack (id, room, sender or seq), or its event is not messageCreated. */
  ackedMismatch: number;
  /** Two acks naming the same room and seq. */
  acksSharingSeq: number;
  /** (sender, client_msg_id) stored more than once. */
  storedTwice: number;
  /** Rows never acknowledged whose call failed on the client (it may commit after giving up). */
  storedAfterFailure: number;
  /** Rows never acknowledged nor failed, as `sender/client_msg_id`. */
  storedUnacked: string[];
}

/**
 * Every acknowledged message is stored exactly once under its (sender,
 * client_msg_id), with the acknowledged id, room, sender and seq, and its
 * event at that seq is `messageCreated`; no two acks share a (room, seq).
 * Rows of the run (client_msg_id starting with `clientIdPrefix`) that were
 * not acknowledged are counted: those of `failed` calls
 * (`sender/client_msg_id`) apart. Problems go to `example`.
 */
export async function checkAcks(
  conn: mariadb.Connection,
  rooms: readonly bigint[],
  acks: Iterable<Ack>,
  example: (problem: string) => void,
  o: { clientIdPrefix?: string; failed?: ReadonlySet<string> } = {},
): Promise<AckCheck> {
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
    [rooms.map(String), `${o.clientIdPrefix ?? ""}%`],
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
      storedTwice += 1;
      example(
        `${key}: stored ${list.length} times (${list.map((r) => `room ${r.room_id} seq ${r.seq}`).join(", ")})`,
      );
    }
  }
  let count = 0;
  let ackedMissing = 0;
  let ackedMismatch = 0;
  let acksSharingSeq = 0;
  const acked = new Set<string>();
  const seqs = new Set<string>();
  for (const a of acks) {
    count += 1;
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
      big(r.sender_id) !== a.senderId ||
      r.type !== "messageCreated"
    ) {
      ackedMismatch += 1;
      example(
        `${key}: acknowledged id ${a.messageId} room ${a.roomId} seq ${a.seq}, stored id ${r.id} room ${r.room_id} seq ${r.seq} event ${r.type}`,
      );
    }
  }
  let storedAfterFailure = 0;
  const storedUnacked: string[] = [];
  for (const key of byKey.keys()) {
    if (acked.has(key)) continue;
    if (o.failed?.has(key)) storedAfterFailure += 1;
    else storedUnacked.push(key);
  }
  return {
    acks: count,
    messagesOfRun: rows.length,
    ackedMissing,
    ackedMismatch,
    acksSharingSeq,
    storedTwice,
    storedAfterFailure,
    storedUnacked,
  };
}

/**
 * Unit tests of group commit (send-batcher.ts) over a fake transaction
 * runner: an in-memory store that answers the batch's statements
 * (send-batch.ts, store/sql/send.ts), rolls a failed transaction back, and
 * records what each transaction carried. How batches form (lanes, sizes,
 * one transaction per room at a time) and how failures are handled (the
 * culprit split off, deadlocks retried, no connection, load shed) are
 * checked here; test/messages/group-commit.test.ts checks the same batches
 * against MariaDB.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../../../gen/chat/v1/event_pb.js";
import type { PrismaClient } from "../../store/prisma.js";
import type { Row, SqlTx, Stmt, TxRunner } from "../../store/tx.js";
import type { RoomEventSink } from "../event-sink.js";
import type { SendRequest } from "./send-batch.js";
import { type BatchLimits, SendBatcher, type SendResult } from "./send-batcher.js";

/** A message row of the fake store. */
interface StoredMessage {
  id: bigint;
  roomId: bigint;
  seq: bigint;
  senderId: bigint;
  clientMsgId: string;
  text: string;
}

/** What one transaction did. */
interface TxRecord {
  /** Rooms it locked. */
  rooms: bigint[];
  /** Texts of the messages it inserted, in order. */
  texts: string[];
  outcome: "committed" | "rolled back";
}

const big = (v: unknown) => BigInt(v as bigint);

/**
 * Rooms (public, every user a member), messages, and a runner whose
 * transactions run the statements of a send batch against them. Failures
 * are injected per statement; `hold()` parks transactions before they get
 * their connection, as a busy pool would, until `release()`.
 */
class FakeStore {
  readonly lastSeq = new Map<bigint, bigint>();
  readonly messages: StoredMessage[] = [];
  readonly transactions: TxRecord[] = [];
  /** Connections asked for (transactions begun or refused). */
  connects = 0;
  /** Most transactions open at once. */
  maxOpen = 0;
  /** Set when two open transactions locked the same room. */
  overlap: string | undefined;
  /** Runs before each statement (its SQL on one line); throw from it to fail the statement. */
  beforeStatement: (sql: string, params: unknown[]) => void = () => {};
  /** Thrown instead of handing out a connection, while set. */
  noConnection: Error | undefined;
  private nextId = 1n;
  private open = new Set<TxRecord>();
  private gate: Promise<void> | undefined;
  private openGate = () => {};

  constructor(rooms: bigint[]) {
    for (const r of rooms) this.lastSeq.set(r, 0n);
  }

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.gate = undefined;
    this.openGate();
  }

  readonly runner: TxRunner = async (fn) => {
    await this.gate;
    this.connects++;
    if (this.noConnection) throw this.noConnection;
    const record: TxRecord = { rooms: [], texts: [], outcome: "rolled back" };
    const undo: (() => void)[] = [];
    this.transactions.push(record);
    this.open.add(record);
    this.maxOpen = Math.max(this.maxOpen, this.open.size);
    const tx: SqlTx = {
      run: async (stmts) => {
        // A round trip: other transactions run meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
        return stmts.map((s) => this.statement(s, record, undo));
      },
    };
    try {
      const value = await fn(tx);
      record.outcome = "committed";
      return value;
    } catch (err) {
      for (const u of undo.reverse()) u();
      throw err;
    } finally {
      this.open.delete(record);
    }
  };

  private statement(s: Stmt, tx: TxRecord, undo: (() => void)[]): Row[] {
    const sql = s.sql.replace(/\s+/g, " ").trim();
    this.beforeStatement(sql, s.params);
    const p = s.params;
    if (sql.startsWith("SELECT id, visibility")) {
      const rooms = p.map(big);
      for (const other of this.open) {
        if (other !== tx && other.rooms.some((r) => rooms.includes(r))) {
          this.overlap = `rooms ${rooms} locked twice`;
        }
      }
      tx.rooms.push(...rooms);
      return rooms.flatMap((id) => {
        const lastSeq = this.lastSeq.get(id);
        return lastSeq === undefined
          ? []
          : [{ id, visibility: "PUBLIC", lastSeq, archivedAt: null }];
      });
    }
    if (sql.startsWith("SELECT id FROM rooms WHERE id IN")) {
      // The rooms that exist (the lock above skips none: no other writer here).
      return p.map(big).flatMap((id) => (this.lastSeq.has(id) ? [{ id }] : []));
    }
    if (sql.startsWith("SELECT room_id AS roomId, user_id AS userId")) {
      // Every sender is a member: a row per (room, user) asked about.
      const rows: Row[] = [];
      const conds = /WHERE (.*)$/.exec(sql)?.[1]?.split(" OR ") ?? [];
      let i = 0;
      for (const cond of conds) {
        const n = (cond.match(/\?/g) ?? []).length;
        const [roomId, ...users] = p.slice(i, i + n);
        i += n;
        for (const userId of users) {
          rows.push({
            roomId,
            userId,
            role: "MEMBER",
            state: "JOINED",
            lastReadSeq: 0n,
            joinedAt: new Date(0),
          });
        }
      }
      return rows;
    }
    if (sql.startsWith("SELECT id, room_id AS roomId, sender_id AS senderId, client_msg_id")) {
      return this.messages.map((m) => ({ ...m }));
    }
    if (sql.startsWith("INSERT INTO messages")) {
      // Eleven columns a row (insertMessages in store/sql/send.ts).
      for (let i = 0; i < p.length; i += 11) {
        const [roomId, seq, senderId, clientMsgId, , text] = p.slice(i, i + 11);
        const row: StoredMessage = {
          id: this.nextId++,
          roomId: big(roomId),
          seq: big(seq),
          senderId: big(senderId),
          clientMsgId: String(clientMsgId),
          text: String(text),
        };
        if (this.messages.some((m) => m.roomId === row.roomId && m.seq === row.seq)) {
          throw Object.assign(new Error("Duplicate entry for key 'room_seq'"), { errno: 1062 });
        }
        this.messages.push(row);
        tx.texts.push(row.text);
        undo.push(() => this.messages.splice(this.messages.indexOf(row), 1));
      }
      return [];
    }
    if (sql.startsWith("SELECT room_id AS roomId, seq, id FROM messages")) {
      return this.messages.map((m) => ({ roomId: m.roomId, seq: m.seq, id: m.id }));
    }
    if (sql.startsWith("UPDATE rooms SET")) {
      const n = (p.length - 1) / 5;
      for (let i = 0; i < n; i++) {
        const roomId = big(p[2 * i]);
        const before = this.lastSeq.get(roomId) ?? 0n;
        this.lastSeq.set(roomId, big(p[2 * i + 1]));
        undo.push(() => this.lastSeq.set(roomId, before));
      }
      return [];
    }
    if (sql.startsWith("INSERT INTO room_events") || sql.startsWith("INSERT INTO mentions")) {
      return [];
    }
    throw new Error(`the fake store does not know: ${sql.slice(0, 60)}`);
  }

  /** Texts of a room's messages in seq order. */
  texts(roomId: bigint): string[] {
    return this.messages
      .filter((m) => m.roomId === roomId)
      .sort((a, b) => (a.seq < b.seq ? -1 : 1))
      .map((m) => m.text);
  }
}

/** A sink that records the seqs published per room, in order. */
function recordingSink() {
  const published = new Map<bigint, bigint[]>();
  const sink: RoomEventSink = {
    publish(events: readonly RoomEvent[]) {
      for (const e of events) published.set(e.roomId, [...(published.get(e.roomId) ?? []), e.seq]);
    },
  };
  return { sink, published };
}

/** Only the paths that read a stored message (keys used before) use Prisma: none here. */
const noPrisma = new Proxy({} as PrismaClient, {
  get: (_t, name) => {
    throw new Error(`prisma.${String(name)} used`);
  },
});

const clock = { now: () => new Date("2025-01-01T00:00:00Z") };

function setup(rooms: bigint[], limits: Partial<BatchLimits> = {}) {
  const store = new FakeStore(rooms);
  const { sink, published } = recordingSink();
  const batcher = new SendBatcher(store.runner, noPrisma, clock, sink, limits);
  return { store, published, batcher };
}

let k = 0;
function req(roomId: bigint, text: string, extra: Partial<SendRequest> = {}): SendRequest {
  k += 1;
  return {
    roomId,
    senderId: 100n + BigInt(k % 3),
    clientMsgId: `c${k}`,
    kind: "TEXT",
    text,
    payload: null,
    replyToId: 0n,
    minRole: "MEMBER",
    ...extra,
  };
}

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const seqs = (results: SendResult[]) => results.map((r) => r.message.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));
const committed = (store: FakeStore) =>
  store.transactions.filter((t) => t.outcome === "committed").map((t) => t.texts);

describe("SendBatcher: batches", () => {
  it("starts a lone call at once; calls arriving meanwhile make one batch of many rooms", async () => {
    const { store, published, batcher } = setup([1n, 2n]);
    expect((await batcher.send(req(1n, "alone"))).message.seq).toBe(1n);
    store.hold();
    const a = texts("a", 10).map((t) => batcher.send(req(1n, t)));
    const b = texts("b", 5).map((t) => batcher.send(req(2n, t)));
    store.release();
    const [ra, rb] = [await Promise.all(a), await Promise.all(b)];
    expect(store.transactions).toHaveLength(2);
    expect(committed(store)[1]).toEqual([...texts("a", 10), ...texts("b", 5)]);
    // Each call gets its own message, seqs dense in arrival order.
    expect(ra.map((r) => r.message.text)).toEqual(texts("a", 10));
    expect(seqs(ra)).toEqual(range(2, 11));
    expect(seqs(rb)).toEqual(range(1, 5));
    expect(ra.every((r) => !r.duplicate)).toBe(true);
    expect(published.get(1n)).toEqual(range(1, 11));
    expect(published.get(2n)).toEqual(range(1, 5));
  });

  it("cuts batches at maxItems, a room's calls in arrival order, one transaction per room at a time", async () => {
    const { store, published, batcher } = setup([1n], { lanes: 3, maxItems: 4 });
    store.hold();
    const pending = texts("m", 10).map((t) => batcher.send(req(1n, t)));
    store.release();
    expect(seqs(await Promise.all(pending))).toEqual(range(1, 10));
    expect(committed(store).map((t) => t.length)).toEqual([4, 4, 2]);
    expect(store.texts(1n)).toEqual(texts("m", 10));
    // Spare lanes never take a room that is in a transaction.
    expect(store.overlap).toBeUndefined();
    expect(store.maxOpen).toBe(1);
    expect(published.get(1n)).toEqual(range(1, 10));
  });

  it("cuts batches at maxBytes (a first call always goes)", async () => {
    const { store, batcher } = setup([1n], { maxBytes: 1_500 });
    store.hold();
    // 100 characters count 600 bytes: two fit in 1,500.
    const pending = texts("x".repeat(99), 5).map((t) => batcher.send(req(1n, t)));
    const huge = batcher.send(req(1n, "y".repeat(10_000)));
    store.release();
    await Promise.all([...pending, huge]);
    expect(committed(store).map((t) => t.length)).toEqual([2, 2, 1, 1]);
  });

  it("runs other rooms in other lanes at once, never more lanes than allowed", async () => {
    const rooms = [1n, 2n, 3n, 4n, 5n, 6n];
    const { store, batcher } = setup(rooms, { lanes: 2, maxItems: 3 });
    store.hold();
    const pending = rooms.flatMap((r) => texts(`r${r}-`, 3).map((t) => batcher.send(req(r, t))));
    store.release();
    await Promise.all(pending);
    expect(store.maxOpen).toBe(2);
    expect(store.overlap).toBeUndefined();
    for (const r of rooms) expect(store.texts(r)).toEqual(texts(`r${r}-`, 3));
  });

  it("keeps the rest of a room cut short out of other lanes until its transaction is done", async () => {
    const { store, batcher } = setup([1n, 2n], { lanes: 2, maxItems: 4 });
    store.hold();
    const a = texts("a", 6).map((t) => batcher.send(req(1n, t)));
    const b = texts("b", 2).map((t) => batcher.send(req(2n, t)));
    store.release();
    expect(seqs(await Promise.all(a))).toEqual(range(1, 6));
    expect(seqs(await Promise.all(b))).toEqual(range(1, 2));
    // Room 2 went in the second lane at once; room 1's last two waited for the first.
    expect(store.maxOpen).toBe(2);
    expect(store.overlap).toBeUndefined();
    expect(committed(store)).toEqual([
      ["a0", "a1", "a2", "a3"],
      ["b0", "b1"],
      ["a4", "a5"],
    ]);
  });
});

describe("SendBatcher: failures", () => {
  it("splits a batch that broke into single sends, so only the culprit fails", async () => {
    const { store, published, batcher } = setup([1n, 2n]);
    const injected = new Error("injected: the row was refused");
    store.beforeStatement = (sql, params) => {
      if (sql.startsWith("INSERT INTO messages") && params.includes("poison")) throw injected;
    };
    store.hold();
    const first = ["a0", "a1", "a2"].map((t) => batcher.send(req(1n, t)));
    const bad = batcher.send(req(1n, "poison"));
    const then = [batcher.send(req(1n, "a3")), batcher.send(req(2n, "b0"))];
    store.release();
    await expect(bad).rejects.toBe(injected);
    const good = await Promise.all([...first, ...then]);
    expect(seqs(good)).toEqual([1n, 2n, 3n, 4n, 1n]);
    expect(store.texts(1n)).toEqual(["a0", "a1", "a2", "a3"]);
    // The batch of six rolled back whole; then each call alone, in arrival order.
    expect(store.transactions.map((t) => [t.outcome, t.texts.length])).toEqual([
      ["rolled back", 0],
      ["committed", 1],
      ["committed", 1],
      ["committed", 1],
      ["rolled back", 0],
      ["committed", 1],
      ["committed", 1],
    ]);
    // Nothing of the failed batch was published.
    expect(published.get(1n)).toEqual(range(1, 4));
    expect(published.get(2n)).toEqual([1n]);
  });

  it("tries a transaction again after a deadlock, up to maxTries", async () => {
    const { store, batcher } = setup([1n], { maxTries: 3 });
    let deadlocks = 1;
    store.beforeStatement = (sql) => {
      if (sql.startsWith("INSERT INTO messages") && deadlocks > 0) {
        deadlocks--;
        throw Object.assign(new Error("Deadlock found when trying to get lock"), { errno: 1213 });
      }
    };
    const r = await batcher.send(req(1n, "after one deadlock"));
    expect(r.message.seq).toBe(1n);
    expect(store.transactions.map((t) => t.outcome)).toEqual(["rolled back", "committed"]);

    deadlocks = Number.POSITIVE_INFINITY;
    const lost = batcher.send(req(1n, "never"));
    await expect(lost).rejects.toMatchObject({ errno: 1213 });
    expect(store.transactions.slice(2).map((t) => t.outcome)).toEqual([
      "rolled back",
      "rolled back",
      "rolled back",
    ]);
    expect(store.texts(1n)).toEqual(["after one deadlock"]);
  });

  it("fails the calls that were next when there is no connection, then serves again", async () => {
    const { store, batcher } = setup([1n]);
    const down = Object.assign(new Error("pool timeout"), { code: "ER_GET_CONNECTION_TIMEOUT" });
    store.noConnection = down;
    store.hold();
    const pending = texts("m", 3).map((t) => batcher.send(req(1n, t)));
    store.release();
    for (const p of pending) await expect(p).rejects.toBe(down);
    // Tried once for all of them, not once each.
    expect(store.connects).toBe(1);
    expect(store.transactions).toHaveLength(0);
    store.noConnection = undefined;
    expect((await batcher.send(req(1n, "back"))).message.seq).toBe(1n);
  });

  it("refuses calls beyond maxWaiting with Unavailable, and takes them again once drained", async () => {
    const { store, batcher } = setup([1n], { maxWaiting: 3 });
    store.hold();
    const waiting = texts("w", 3).map((t) => batcher.send(req(1n, t)));
    const shed = batcher.send(req(1n, "one too many"));
    await expect(shed).rejects.toBeInstanceOf(ConnectError);
    await shed.catch((err: ConnectError) => {
      expect(Code[err.code]).toBe(Code[Code.Unavailable]);
    });
    store.release();
    expect(seqs(await Promise.all(waiting))).toEqual(range(1, 3));
    expect((await batcher.send(req(1n, "later"))).message.seq).toBe(4n);
    expect(store.texts(1n)).toEqual(["w0", "w1", "w2", "later"]);
  });
});

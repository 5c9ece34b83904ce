/**
 * The big one: two real servers (each in its own process, started as
 * production starts it, on a free port) sharing the database and Redis.
 * Senders on both instances write concurrently into three rooms; subscribers
 * keep disconnecting at random points and resume from the last sequence
 * they saw per room, on a random instance and protocol. At the end every
 * subscriber holds exactly the committed events of its rooms (room_events
 * 1..last_seq, byte for byte), in order, without gap or duplicate.
 *
 * Reproducible decisions: FEED_STRESS_SEED (default below) seeds one PRNG
 * per actor. FEED_STRESS_MESSAGES (default 3000) caps the messages sent;
 * sending also stops after FEED_STRESS_SEND_MS (default 14 s) so the test
 * stays under ~30 s where writes are slow (on this 2-CPU machine about 40
 * messages/s get through, so a few hundred, not thousands: raise
 * FEED_STRESS_SEND_MS for a longer run).
 */
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { authed } from "../support/clients.js";
import { setupTestEnv } from "../support/fixture.js";
import { envServerProcess, type ServerProcess } from "../support/processes.js";
import { lastSeqOf, storedEvents } from "../support/rows.js";
import { prng, sleep } from "../support/timing.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const SEED = Number(process.env.FEED_STRESS_SEED ?? 20_261_122);
const MAX_MESSAGES = Number(process.env.FEED_STRESS_MESSAGES ?? 3_000);
const SEND_MS = Number(process.env.FEED_STRESS_SEND_MS ?? 14_000);
const SENDERS = 6;
const SUBSCRIBERS = 6;
/** Rooms (indexes into the three rooms) of each subscriber. */
const SUBSCRIBER_ROOMS = [[0, 1, 2], [0, 1], [1, 2], [2], [0, 2], [1]];

const { env } = setupTestEnv({ redis: true, instances: 0 });
let servers: ServerProcess[] = [];

beforeAll(async () => {
  // Resumes are short; a reset would make the bookkeeping meaningless (the
  // most a test run sends is far below this limit).
  const vars = { FEED_MAX_REPLAY: "100000" };
  servers = await Promise.all([0, 1].map(() => envServerProcess(env, vars)));
});
afterAll(() => Promise.all(servers.map((s) => s.stop())));

type Kind = "grpc" | "connect-h1" | "connect-h2";
const kinds: Kind[] = ["grpc", "connect-h1", "connect-h2"];

function transportFor(url: string, kind: Kind): Transport {
  if (kind === "grpc") return createGrpcTransport({ baseUrl: url });
  return createConnectTransport({ baseUrl: url, httpVersion: kind === "connect-h1" ? "1.1" : "2" });
}

interface Subscriber {
  index: number;
  user: TestUser;
  rooms: bigint[];
  /** Last sequence seen per room. */
  seen: Map<bigint, bigint>;
  /** Payloads received per room, in arrival order. */
  got: Map<bigint, Uint8Array[]>;
  violations: string[];
  connects: number;
}

it(
  "every subscriber ends with exactly the committed events of its rooms",
  async () => {
    // One transport per (instance, protocol), shared by the actors.
    const transports = servers.map(
      (s) =>
        Object.fromEntries(kinds.map((k) => [k, transportFor(s.url, k)])) as Record<
          Kind,
          Transport
        >,
    );
    const setup = transports[0]?.["connect-h1"] as Transport;
    const owner = await newUser(setup, "owner");
    const senders: TestUser[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const t = transports[i % 2]?.["connect-h1"] as Transport;
      senders.push(await newUser(t, `sender${i}`));
    }
    const subUsers: TestUser[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) subUsers.push(await newUser(setup, `sub${i}`));
    const rooms: bigint[] = [];
    for (let r = 0; r < 3; r++) {
      const members = [...senders, ...subUsers.filter((_, i) => SUBSCRIBER_ROOMS[i]?.includes(r))];
      rooms.push(await newRoom(owner, members));
    }

    const subs: Subscriber[] = subUsers.map((user, index) => {
      const mine = (SUBSCRIBER_ROOMS[index] ?? []).map((r) => rooms[r] as bigint);
      return {
        index,
        user,
        rooms: mine,
        seen: new Map(mine.map((r) => [r, 0n])),
        got: new Map(mine.map((r) => [r, []])),
        violations: [],
        connects: 0,
      };
    });

    let sendingDone = false;
    let finalSeqs: Map<bigint, bigint> | undefined;

    // --- senders ---------------------------------------------------------
    let sent = 0;
    const sendErrors: string[] = [];
    const sendDeadline = Date.now() + SEND_MS;
    const sending = Promise.all(
      senders.map(async (sender, i) => {
        const rnd = prng(SEED * 31 + i);
        let n = 0;
        while (sent < MAX_MESSAGES && Date.now() < sendDeadline) {
          sent++;
          const room = rooms[Math.floor(rnd() * rooms.length)] as bigint;
          // Each sender alternates between the two instances.
          const t = transports[Math.floor(rnd() * 2)]?.["connect-h1"] as Transport;
          try {
            await sender
              .on(t)
              .msgs.sendMessage(
                { roomId: room, text: `s${i} #${n}`, clientMsgId: `s${i}-${n}` },
                { timeoutMs: 10_000 },
              );
          } catch (err) {
            const ce = ConnectError.from(err);
            sendErrors.push(
              `sender${i} #${n}: ${Code[ce.code]} ${ce.rawMessage} (an instance stopped answering?)`,
            );
            return;
          }
          n++;
        }
      }),
    ).finally(() => {
      sendingDone = true;
    });

    // --- subscribers -------------------------------------------------------
    const caughtUp = (s: Subscriber) =>
      finalSeqs !== undefined && s.rooms.every((r) => s.seen.get(r) === finalSeqs?.get(r));

    async function connectOnce(s: Subscriber, rnd: () => number): Promise<void> {
      const instance = Math.floor(rnd() * 2);
      const kind = kinds[Math.floor(rnd() * kinds.length)] as Kind;
      const client = authed(FeedService, transports[instance]?.[kind] as Transport, s.user.token);
      const ac = new AbortController();
      // Disconnect after a random number of room events, or a random time.
      const eventBudget = rnd() < 0.15 ? 0 : 1 + Math.floor(rnd() * 300);
      const timeBudget = 30 + Math.floor(rnd() * 700);
      const timer = setTimeout(() => ac.abort(), caughtUp(s) ? 50 : timeBudget);
      const positions = s.rooms.map((roomId) => ({ roomId, lastSeq: s.seen.get(roomId) ?? 0n }));
      const where = `sub${s.index} connect#${s.connects} ${kind}@${instance}`;
      s.connects++;
      let events = 0;
      let ready = false;
      try {
        for await (const res of client.subscribe({ positions }, { signal: ac.signal })) {
          const ev = res.event?.event;
          if (!ev) continue;
          if (!ready) {
            if (ev.case !== "ready") {
              s.violations.push(`${where}: first frame ${ev.case}`);
              break;
            }
            ready = true;
            const listed = ev.value.rooms.map((r) => r.roomId).sort((x, y) => (x < y ? -1 : 1));
            if (listed.join() !== [...s.rooms].sort((x, y) => (x < y ? -1 : 1)).join()) {
              s.violations.push(`${where}: ready lists ${listed.join()}`);
            }
            if (eventBudget === 0) break;
            continue;
          }
          switch (ev.case) {
            case "roomEvent": {
              const e = ev.value;
              const expected = (s.seen.get(e.roomId) ?? -1n) + 1n;
              if (!s.seen.has(e.roomId))
                s.violations.push(`${where}: event of foreign room ${e.roomId}`);
              else if (e.seq !== expected)
                s.violations.push(`${where}: room ${e.roomId} got ${e.seq}, expected ${expected}`);
              else {
                s.seen.set(e.roomId, e.seq);
                s.got.get(e.roomId)?.push(toBinary(RoomEventSchema, e));
              }
              events++;
              break;
            }
            case "heartbeat":
            case "presence":
            case "roomStats":
            case "typing":
              break;
            default:
              s.violations.push(`${where}: unexpected ${ev.case}`);
          }
          if (events >= eventBudget || caughtUp(s)) break;
        }
      } catch (err) {
        // Our own abort ends the call; any other end is news.
        if (!ac.signal.aborted) {
          const ce = ConnectError.from(err);
          s.violations.push(`${where}: stream failed ${Code[ce.code]}: ${ce.rawMessage}`);
        }
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
    }

    const deadline = Date.now() + SEND_MS + 12_000;
    const subscribing = Promise.all(
      subs.map(async (s) => {
        const rnd = prng(SEED * 17 + s.index);
        while (!caughtUp(s)) {
          if (Date.now() > deadline) {
            s.violations.push(`sub${s.index}: not caught up in time: ${[...s.seen].join(" ")}`);
            return;
          }
          await connectOnce(s, rnd);
          if (!sendingDone) await sleep(Math.floor(rnd() * 60));
        }
      }),
    );

    await sending;
    finalSeqs = new Map();
    for (const r of rooms) finalSeqs.set(r, await lastSeqOf(env, r));
    await subscribing;

    // --- verdict -----------------------------------------------------------
    const total = [...finalSeqs.values()].reduce((x, y) => x + y, 0n);
    const connects = subs.reduce((x, s) => x + s.connects, 0);
    console.log(
      `[feed stress] seed ${SEED}: ${sent} messages sent, ${total} events in 3 rooms, ${connects} connects by ${SUBSCRIBERS} subscribers`,
    );
    // Writes are slow on a loaded test machine; still, it must have been busy.
    expect(sendErrors).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(Math.min(MAX_MESSAGES, 50));
    expect(subs.flatMap((s) => s.violations)).toEqual([]);
    for (const roomId of rooms) {
      const stored = await storedEvents(env, roomId);
      const last = finalSeqs.get(roomId) ?? 0n;
      // Storage itself is dense: 1..last_seq.
      expect(stored.map((e) => e.seq)).toEqual(
        Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1)),
      );
      const hex = stored.map((e) => Buffer.from(e.payload).toString("hex"));
      for (const s of subs) {
        const got = s.got.get(roomId);
        if (!got) continue;
        expect(got.length, `sub${s.index} room ${roomId}`).toBe(hex.length);
        const gotHex = got.map((b) => Buffer.from(b).toString("hex"));
        const firstDiff = gotHex.findIndex((h, i) => h !== hex[i]);
        expect(firstDiff, `sub${s.index} room ${roomId}: first differing event`).toBe(-1);
      }
    }
    expect(connects).toBeGreaterThan(SUBSCRIBERS * 5);
  },
  SEND_MS + 30_000,
);

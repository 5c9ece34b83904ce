/**
 * Subscribe: the `ready` frame, echo of own messages, heartbeats, resume by
 * sequence (also on another instance and while messages keep coming),
 * `reset` past maxReplay, bad positions, and the per-user stream limit.
 */
import { Code, createClient } from "@connectrpc/connect";
import { beforeAll, expect, describe as group, it } from "vitest";
import { FeedService, Reset_Reason } from "../../gen/chat/v1/feed_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import type { FeedOptions } from "../../server/app.js";
import { inMemoryInstance } from "../support/env.js";
import { badFields } from "../support/errors.js";
import { ChatStream, describe, FeedReader, roomEventLabel, roomEvents } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { lastSeqOf } from "../support/rows.js";
import { sleep } from "../support/timing.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

/** Two instances with default options sharing the database and Redis. */
const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });

/** An instance with its own feed options. */
function withFeed(feed: Partial<FeedOptions>) {
  return inMemoryInstance(env, { feed });
}

const seqs = (evs: Parameters<typeof roomEvents>[0]) => roomEvents(evs).map((e) => e.seq);
const range = (from: bigint, to: bigint) => {
  const out: bigint[] = [];
  for (let s = from; s <= to; s++) out.push(s);
  return out;
};

group("ready, echo and heartbeat", () => {
  it("starts with ready listing exactly the caller's rooms and their last_seq", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const shared = await newRoom(alice, [bob]);
    const own = await newRoom(alice, [], Visibility.PRIVATE);
    const bobsOnly = await newRoom(bob);
    const left = await newRoom(bob);
    await alice.rooms.joinRoom({ roomId: left });
    await alice.rooms.leaveRoom({ roomId: left });
    await send(bob, shared, "one");
    await send(bob, shared, "two");
    await send(bob, bobsOnly, "not for alice");

    const inst = withFeed({ heartbeatMs: 200 });
    const before = Date.now();
    const feed = FeedReader.open(alice.on(inst.transport).feed);
    try {
      const ready = await feed.ready();
      const rooms = ready.rooms
        .map((r) => ({ roomId: r.roomId, lastSeq: r.lastSeq }))
        .sort((x, y) => (x.roomId < y.roomId ? -1 : 1));
      expect(rooms).toEqual([
        { roomId: shared, lastSeq: 3n },
        { roomId: own, lastSeq: 1n },
      ]);
      expect(ready.heartbeatIntervalMs).toBe(200);
      const serverMs = Number(ready.serverTime?.seconds ?? 0n) * 1000;
      expect(Math.abs(serverMs - before)).toBeLessThan(5_000);
    } finally {
      feed.close();
    }
  });

  it("echoes own messages with their client_msg_id, and carries others' messages", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const other = await newRoom(bob);
    const feed = FeedReader.open(alice.on(b).feed);
    try {
      await feed.ready();
      const sent = await alice.msgs.sendMessage({
        roomId: room,
        text: "hello me",
        clientMsgId: "echo-1",
      });
      await send(bob, other, "alice is not in this room");
      await send(bob, room, "hi alice");
      const evs = await feed.take(2);
      expect(evs.map(describe)).toEqual([
        `${room}:2:messageCreated:hello me`,
        `${room}:3:messageCreated:hi alice`,
      ]);
      const first = roomEvents(evs)[0];
      expect(first?.change.case).toBe("messageCreated");
      if (first?.change.case !== "messageCreated") return;
      const msg = first.change.value.message;
      expect(msg?.clientMsgId).toBe("echo-1");
      expect(msg?.senderId).toBe(alice.id);
      expect(msg?.id).toBe(sent.message?.id);
      expect(msg?.seq).toBe(2n);
      expect(first.actorId).toBe(alice.id);
      expect(await feed.quiet(300)).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("sends heartbeats while idle, at about heartbeat_interval_ms", async () => {
    const alice = await newUser(a);
    await newRoom(alice);
    const inst = withFeed({ heartbeatMs: 200 });
    const feed = FeedReader.open(alice.on(inst.transport).feed);
    try {
      await feed.ready();
      const times: number[] = [];
      const start = Date.now();
      while (times.length < 3) {
        const ev = await feed.nextAny(2_000);
        if (ev.case === "presence" || ev.case === "roomStats") continue;
        expect(ev.case).toBe("heartbeat");
        if (ev.case === "heartbeat") expect(ev.value.serverTime).toBeDefined();
        times.push(Date.now() - start);
      }
      // Three heartbeats 200 ms apart: not before 3 intervals, not much later.
      expect(times[2]).toBeGreaterThanOrEqual(550);
      expect(times[2]).toBeLessThan(2_000);
    } finally {
      feed.close();
    }
  });
});

group("resume", () => {
  it("replays exactly p+1..head in order, then live, for several positions", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    for (let i = 1; i <= 10; i++) await send(bob, room, `m${i}`);
    const head = await lastSeqOf(env, room);
    expect(head).toBe(11n);
    for (const p of [0n, 1n, 6n, 10n, 11n]) {
      const feed = FeedReader.open(alice.on(b).feed, { positions: [{ roomId: room, lastSeq: p }] });
      try {
        const ready = await feed.ready();
        expect(ready.rooms.map((r) => [r.roomId, r.lastSeq])).toEqual([[room, head]]);
        const replayed = await feed.take(Number(head - p));
        expect(seqs(replayed)).toEqual(range(p + 1n, head));
        expect(await feed.quiet(150)).toEqual([]);
      } finally {
        feed.close();
      }
    }
    // Payloads are the stored events, byte for byte in meaning.
    const feed = FeedReader.open(alice.feed, { positions: [{ roomId: room, lastSeq: 0n }] });
    try {
      await feed.ready();
      const labels = roomEvents(await feed.take(11)).map(roomEventLabel);
      expect(labels).toEqual([
        `${room}:1:membersAdded:${alice.id}+${bob.id}`,
        ...Array.from({ length: 10 }, (_, i) => `${room}:${i + 2}:messageCreated:m${i + 1}`),
      ]);
      await send(bob, room, "live");
      expect(describe(await feed.next())).toBe(`${room}:12:messageCreated:live`);
    } finally {
      feed.close();
    }
  });

  it("switches from replay to live without gap or duplicate while messages keep coming", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    for (let i = 0; i < 5; i++) await send(bob, room, `pre${i}`);
    // A sender on instance a; subscribers join on both instances mid-flood.
    let sending = true;
    const sender = (async () => {
      for (let i = 0; i < 80; i++) await send(bob, room, `flood${i}`);
      sending = false;
    })();
    const feeds: { feed: FeedReader; from: bigint }[] = [];
    try {
      for (let k = 0; k < 6 && sending; k++) {
        await sleep(20 + k * 15);
        const head = await lastSeqOf(env, room);
        const from = k % 2 === 0 ? head - 3n : head > 20n ? head - 20n : 0n;
        const t = k % 2 === 0 ? b : a;
        const feed = FeedReader.open(alice.on(t).feed, {
          positions: [{ roomId: room, lastSeq: from }],
        });
        feeds.push({ feed, from });
      }
      await sender;
      const final = await lastSeqOf(env, room);
      expect(feeds.length).toBeGreaterThanOrEqual(3);
      for (const { feed, from } of feeds) {
        await feed.ready();
        const evs = await feed.until(
          (e) => e.case === "roomEvent" && e.value.seq === final,
          10_000,
        );
        expect(evs.every((e) => e.case === "roomEvent")).toBe(true);
        expect(seqs(evs)).toEqual(range(from + 1n, final));
        expect(await feed.quiet(100)).toEqual([]);
      }
    } finally {
      for (const { feed } of feeds) feed.close();
      await sender.catch(() => {});
    }
  });

  it("resumes after a reconnect on another instance from the last seen seq", async () => {
    const alice = await newUser(a);
    const bob = await newUser(b);
    const room = await newRoom(alice, [bob]);
    const first = FeedReader.open(alice.feed, { positions: [{ roomId: room, lastSeq: 1n }] });
    let last = 1n;
    try {
      await first.ready();
      for (let i = 0; i < 5; i++) await send(bob, room, `a${i}`);
      const evs = await first.take(3);
      last = roomEvents(evs).at(-1)?.seq ?? 0n;
      expect(seqs(evs)).toEqual([2n, 3n, 4n]);
    } finally {
      first.close();
    }
    for (let i = 0; i < 4; i++) await send(bob, room, `b${i}`);
    const second = FeedReader.open(alice.on(b).feed, {
      positions: [{ roomId: room, lastSeq: last }],
    });
    try {
      await second.ready();
      const evs = await second.take(6);
      expect(evs.map(describe)).toEqual([
        `${room}:5:messageCreated:a3`,
        `${room}:6:messageCreated:a4`,
        `${room}:7:messageCreated:b0`,
        `${room}:8:messageCreated:b1`,
        `${room}:9:messageCreated:b2`,
        `${room}:10:messageCreated:b3`,
      ]);
      await send(bob, room, "live");
      expect(describe(await second.next())).toBe(`${room}:11:messageCreated:live`);
      expect(await second.quiet(150)).toEqual([]);
    } finally {
      second.close();
    }
  });

  it("sends reset (TOO_FAR_BEHIND, last_seq = head) past maxReplay, then only live events", async () => {
    const inst = withFeed({ maxReplay: 5 });
    const alice = await newUser(a);
    const bob = await newUser(a);
    const far = await newRoom(alice, [bob]);
    const edge = await newRoom(alice, [bob]);
    for (let i = 0; i < 8; i++) await send(bob, far, `far${i}`);
    for (let i = 0; i < 6; i++) await send(bob, edge, `edge${i}`);
    // far: head 9, position 3 -> 6 behind (> 5): reset.
    // edge: head 7, position 2 -> exactly 5 behind: replayed.
    const feed = FeedReader.open(alice.on(inst.transport).feed, {
      positions: [
        { roomId: far, lastSeq: 3n },
        { roomId: edge, lastSeq: 2n },
      ],
    });
    try {
      await feed.ready();
      const evs = await feed.take(6);
      const resets = evs.filter((e) => e.case === "reset");
      expect(resets.map(describe)).toEqual([
        `reset ${far} reason=${Reset_Reason.TOO_FAR_BEHIND} last=9`,
      ]);
      expect(roomEvents(evs).map((e) => `${e.roomId}:${e.seq}`)).toEqual(
        [3, 4, 5, 6, 7].map((s) => `${edge}:${s}`),
      );
      expect(await feed.quiet(150)).toEqual([]);
      await send(bob, far, "after reset");
      await send(bob, edge, "edge live");
      const live = await feed.take(2);
      expect(live.map(describe).sort()).toEqual(
        [`${far}:10:messageCreated:after reset`, `${edge}:8:messageCreated:edge live`].sort(),
      );
    } finally {
      feed.close();
    }
  });
});

group("replay pacing", () => {
  it("replays more events than queueLimit to a reader that keeps up, without cutting it", async () => {
    const inst = withFeed({ queueLimit: 5 });
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    for (let i = 0; i < 11; i++) await send(bob, room, `r${i}`);
    // 12 stored events, 5 frames of queue: the replay must wait for the
    // reader instead of overflowing its queue.
    const feed = FeedReader.open(alice.on(inst.transport).feed, {
      positions: [{ roomId: room, lastSeq: 0n }],
    });
    try {
      await feed.ready();
      const evs = await feed.take(12);
      expect(seqs(evs)).toEqual(range(1n, 12n));
      await send(bob, room, "live after a long replay");
      expect(describe(await feed.next())).toBe(
        `${room}:13:messageCreated:live after a long replay`,
      );
    } finally {
      feed.close();
    }
  });
});

group("initial presence", () => {
  it("starts with the presence of online fellow members without overflowing a small queue", async () => {
    const inst = withFeed({ queueLimit: 3 });
    const alice = await newUser(a);
    const others: TestUser[] = [];
    for (let i = 0; i < 4; i++) others.push(await newUser(a));
    const room = await newRoom(alice, others);
    // The four others are online (each has a feed open somewhere).
    const theirs = others.map((u, i) => FeedReader.open(u.on(i % 2 ? a : b).feed));
    try {
      for (const f of theirs) await f.ready();
      const feed = FeedReader.open(alice.on(inst.transport).feed);
      try {
        await feed.ready();
        await send(others[0] as TestUser, room, "hello alice");
        const evs = await feed.until((e) => e.case === "roomEvent", 3_000);
        expect(roomEvents(evs).map(roomEventLabel)).toEqual([
          `${room}:2:messageCreated:hello alice`,
        ]);
      } finally {
        feed.close();
      }
    } finally {
      for (const f of theirs) f.close();
    }
  });
});

group("bad positions", () => {
  let alice: TestUser;
  let bob: TestUser;
  let mine: bigint;
  beforeAll(async () => {
    alice = await newUser(a);
    bob = await newUser(a);
    mine = await newRoom(alice);
    await send(alice, mine, "x");
  });

  async function expectRejected(positions: { roomId: bigint; lastSeq: bigint }[], code: Code) {
    const feed = FeedReader.open(alice.feed, { positions });
    try {
      const { events, error } = await feed.error();
      expect(events.map(describe)).toEqual([]);
      expect(Code[error.code]).toBe(Code[code]);
      return error;
    } finally {
      feed.close();
    }
  }

  it("rejects a last_seq beyond the room's last sequence with InvalidArgument", async () => {
    const err = await expectRejected(
      [
        { roomId: mine, lastSeq: 1n },
        { roomId: mine, lastSeq: 3n },
      ],
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["positions[1].last_seq"]);
    // The head itself is fine.
    const ok = FeedReader.open(alice.feed, { positions: [{ roomId: mine, lastSeq: 2n }] });
    try {
      await ok.ready();
    } finally {
      ok.close();
    }
  });

  it("rejects rooms the caller is not a member of with NotFound", async () => {
    const privateOfOthers = await newRoom(bob, [], Visibility.PRIVATE);
    const publicOfOthers = await newRoom(bob);
    const leftRoom = await newRoom(bob);
    await alice.rooms.joinRoom({ roomId: leftRoom });
    await alice.rooms.leaveRoom({ roomId: leftRoom });
    for (const roomId of [privateOfOthers, publicOfOthers, leftRoom, 987_654_321n]) {
      await expectRejected(
        [
          { roomId: mine, lastSeq: 0n },
          { roomId, lastSeq: 0n },
        ],
        Code.NotFound,
      );
    }
  });

  it("rejects room_id 0 with InvalidArgument before opening anything", async () => {
    const err = await expectRejected([{ roomId: 0n, lastSeq: 0n }], Code.InvalidArgument);
    expect(badFields(err)).toEqual(["positions[0].room_id"]);
  });

  it("rejects calls without a valid token with Unauthenticated", async () => {
    const anon = FeedReader.open(createClient(FeedService, a));
    const { events, error } = await anon.error();
    expect(events).toEqual([]);
    expect(Code[error.code]).toBe("Unauthenticated");
  });
});

group("stream limit", () => {
  /** Opens a stream and waits for ready or its error. */
  async function attempt(feed: TestUser["feed"]): Promise<{ reader: FeedReader; code?: string }> {
    const reader = FeedReader.open(feed);
    const first = await reader.reader.poll(5_000);
    if (first?.kind === "item") return { reader };
    reader.close();
    return { reader, code: first?.kind === "error" ? Code[first.error.code] : String(first?.kind) };
  }

  it("refuses the third concurrent stream with ResourceExhausted, and accepts one after a close", async () => {
    const inst = withFeed({ maxStreamsPerUser: 2 });
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const { feed } = alice.on(inst.transport);
    const one = FeedReader.open(feed);
    const two = FeedReader.open(feed);
    const opened: FeedReader[] = [one, two];
    try {
      await one.ready();
      await two.ready();
      const three = FeedReader.open(feed);
      opened.push(three);
      const refused = await three.error();
      expect(refused.events).toEqual([]);
      expect(Code[refused.error.code]).toBe("ResourceExhausted");
      // A Chat stream counts as well.
      const chat = new ChatStream(feed);
      try {
        const r = await chat.reader.untilError();
        expect(r.items).toEqual([]);
        expect(Code[r.error.code]).toBe("ResourceExhausted");
      } finally {
        chat.close();
      }
      // Another user is not affected by alice's streams.
      const bobs = FeedReader.open(bob.on(inst.transport).feed);
      opened.push(bobs);
      await bobs.ready();
      // The open ones still work.
      await send(bob, room, "still here");
      expect(describe(await one.next())).toBe(`${room}:2:messageCreated:still here`);
      expect(describe(await two.next())).toBe(`${room}:2:messageCreated:still here`);
      one.close();
      // The slot frees up promptly (the close may take a moment to register).
      let four: FeedReader | undefined;
      const deadline = Date.now() + 3_000;
      while (!four) {
        const r = await attempt(feed);
        if (!r.code) four = r.reader;
        else {
          expect(r.code).toBe("ResourceExhausted");
          if (Date.now() > deadline) throw new Error("the closed stream's slot was never freed");
          await sleep(50);
        }
      }
      opened.push(four);
      await send(bob, room, "to four");
      expect(describe(await four.next())).toBe(`${room}:3:messageCreated:to four`);
      const five = await attempt(feed);
      expect(five.code).toBe("ResourceExhausted");
    } finally {
      for (const f of opened) f.close();
    }
  });

  it("admits exactly maxStreamsPerUser of many simultaneous Subscribe calls", async () => {
    const inst = withFeed({ maxStreamsPerUser: 2 });
    const alice = await newUser(a);
    await newRoom(alice);
    const { feed } = alice.on(inst.transport);
    const results = await Promise.all(Array.from({ length: 6 }, () => attempt(feed)));
    try {
      const codes = results.map((r) => r.code ?? "ready").sort();
      expect(codes).toEqual([
        "ResourceExhausted",
        "ResourceExhausted",
        "ResourceExhausted",
        "ResourceExhausted",
        "ready",
        "ready",
      ]);
    } finally {
      for (const r of results) r.reader.close();
    }
  });

  it("frees the slot of a stream that failed (NotFound)", async () => {
    const inst = withFeed({ maxStreamsPerUser: 1 });
    const alice = await newUser(a);
    const { feed } = alice.on(inst.transport);
    for (let i = 0; i < 3; i++) {
      const bad = FeedReader.open(feed, { positions: [{ roomId: 99_999_999n, lastSeq: 0n }] });
      expect(Code[(await bad.error()).error.code]).toBe("NotFound");
    }
    let good: FeedReader | undefined;
    const deadline = Date.now() + 3_000;
    while (!good) {
      const r = await attempt(feed);
      if (!r.code) good = r.reader;
      else if (Date.now() > deadline) throw new Error(`a failed stream kept its slot: ${r.code}`);
      else await sleep(50);
    }
    good.close();
  });
});

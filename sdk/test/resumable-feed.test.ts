/**
 * The resumable feed against an in-memory server that drops streams,
 * replays too much, skips, resets and refuses on demand: every room event
 * is handed out once and in order, reconnects back off with full jitter,
 * and the feed stops only where it must.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createChatClientFromTransport,
  FeedEventSchema,
  type FeedItem,
  type FeedOptions,
  positionsFrom,
  positionsToJson,
  type ResumableFeed,
  RetryInfoSchema,
} from "../src/index.js";
import { FakeChat, roomEventAt } from "./fake-chat.js";

const fast = { backoff: { baseMs: 4, capMs: 20 } };

interface Run {
  items: FeedItem[];
  /** Settles with the error that stopped the loop, or undefined when it ended. */
  done: Promise<ConnectError | undefined>;
}

function run(feed: ResumableFeed): Run {
  const items: FeedItem[] = [];
  const done = (async () => {
    try {
      for await (const item of feed) items.push(item);
      return undefined;
    } catch (err) {
      return ConnectError.from(err);
    }
  })();
  return { items, done };
}

async function until(cond: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** "room:seq" of every room event handed out, in order. */
function seqs(items: FeedItem[]): string[] {
  return items.flatMap((i) => (i.case === "roomEvent" ? [`${i.value.roomId}:${i.value.seq}`] : []));
}

function setup(options: FeedOptions = {}, getToken?: () => string | undefined) {
  const fake = new FakeChat();
  const token = fake.login(1n);
  fake.addRoom(10n, [1n, 2n], 3);
  fake.addRoom(11n, [1n, 2n], 0);
  const client = createChatClientFromTransport({
    transport: fake.transport(),
    ...(getToken ? { getToken } : { token }),
  });
  const feed = client.follow({ ...fast, ...options });
  return { fake, client, feed, token };
}

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe("resumable feed", () => {
  it("starts live, then resumes after each drop from the last sequence handed out", async () => {
    const { fake, feed } = setup();
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.post(10n, 2n, "a");
    fake.post(11n, 2n, "b");
    await until(() => seqs(r.items).length === 2);
    fake.drop(Code.Unavailable);
    fake.post(10n, 2n, "while away"); // seq 5, replayed on resume
    await fake.feedsOpened(2);
    fake.post(10n, 2n, "live again");
    await until(() => seqs(r.items).length === 4);
    expect(fake.subscribes).toEqual([
      [],
      [
        { roomId: 10n, lastSeq: 4n },
        { roomId: 11n, lastSeq: 1n },
      ],
    ]);
    expect(seqs(r.items)).toEqual(["10:4", "11:1", "10:5", "10:6"]);
    expect(feed.positions()).toEqual([
      { roomId: 10n, lastSeq: 6n },
      { roomId: 11n, lastSeq: 1n },
    ]);
    const statuses = r.items.flatMap((i) => (i.case === "status" ? [i.value.state] : []));
    expect(statuses).toEqual(["connecting", "live", "waiting", "connecting", "live"]);
  });

  it("drops events it already handed out when a server replays too much", async () => {
    const { fake, feed } = setup();
    cleanup = () => feed.close();
    fake.overlapOnResume = 2n;
    const r = run(feed);
    await fake.feedsOpened(1);
    for (const t of ["a", "b", "c"]) fake.post(10n, 2n, t);
    await until(() => seqs(r.items).length === 3);
    fake.drop();
    await fake.feedsOpened(2);
    fake.post(10n, 2n, "d");
    await until(() => seqs(r.items).length === 4);
    // The server sent 5 and 6 again after the resume; they were not handed out twice.
    expect(seqs(r.items)).toEqual(["10:4", "10:5", "10:6", "10:7"]);
  });

  it("never hands out events past a hole: it reconnects and the server fills it", async () => {
    const { fake, feed } = setup();
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.post(10n, 2n, "a"); // 4
    await until(() => seqs(r.items).length === 1);
    fake.post(10n, 2n, "b"); // 5 is delivered live...
    await until(() => seqs(r.items).length === 2);
    // ...then a broken server skips to 8 on this stream.
    fake.post(10n, 2n, "c"); // 6
    fake.post(10n, 2n, "d"); // 7
    await until(() => seqs(r.items).length === 4);
    fake.emit(roomEventAt(10n, 9n));
    await fake.feedsOpened(2);
    fake.post(10n, 2n, "e"); // 8
    await until(() => seqs(r.items).length === 5);
    expect(seqs(r.items)).toEqual(["10:4", "10:5", "10:6", "10:7", "10:8"]);
    const waiting = r.items.find((i) => i.case === "status" && i.value.state === "waiting");
    expect(
      waiting?.case === "status" && waiting.value.state === "waiting" && waiting.value.error.code,
    ).toBe(Code.DataLoss);
  });

  it("waits with full jitter below a doubling ceiling", async () => {
    const random = vi.fn(() => 0.5);
    const { fake, feed } = setup({ random, backoff: { baseMs: 8, capMs: 1_000 } });
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.drop(Code.Unavailable);
    await fake.feedsOpened(2);
    fake.drop(Code.ResourceExhausted);
    await fake.feedsOpened(3);
    fake.drop(Code.Internal);
    await fake.feedsOpened(4);
    const waits = r.items.flatMap((i) =>
      i.case === "status" && i.value.state === "waiting" ? [i.value] : [],
    );
    expect(waits.map((w) => [w.attempt, w.delayMs])).toEqual([
      [0, 4],
      [1, 8],
      [2, 16],
    ]);
    expect(random).toHaveBeenCalledTimes(3);
  });

  it("uses RetryInfo as the least delay", async () => {
    const fake = new FakeChat();
    const token = fake.login(1n);
    fake.addRoom(10n, [1n], 0);
    fake.refuseNextFeed = new ConnectError("slow down", Code.ResourceExhausted, undefined, [
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: 0n, nanos: 50_000_000 } } },
    ]);
    const client = createChatClientFromTransport({ transport: fake.transport(), token });
    const feed = client.follow({ backoff: { baseMs: 1, capMs: 1 } });
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(2);
    const w = r.items.find((i) => i.case === "status" && i.value.state === "waiting");
    expect(w?.case === "status" && w.value.state === "waiting" && w.value.delayMs).toBe(50);
  });

  it("starts the backoff over after a connection that stayed up", async () => {
    let t = 0;
    const { fake, feed } = setup({ now: () => t, stableMs: 100, random: () => 0.999 });
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.drop();
    await fake.feedsOpened(2);
    fake.drop();
    await fake.feedsOpened(3);
    await until(() => feed.status.state === "live");
    t = 1_000; // the third connection was up long enough
    fake.drop();
    await fake.feedsOpened(4);
    const attempts = r.items.flatMap((i) =>
      i.case === "status" && i.value.state === "waiting" ? [i.value.attempt] : [],
    );
    expect(attempts).toEqual([0, 1, 0]);
  });

  it("stops for good on PERMISSION_DENIED and INVALID_ARGUMENT, reconnects on anything else", async () => {
    for (const code of [Code.PermissionDenied, Code.InvalidArgument]) {
      const { fake, feed } = setup();
      const r = run(feed);
      await fake.feedsOpened(1);
      fake.drop(code);
      const err = await r.done;
      expect(err?.code).toBe(code);
      expect(feed.status.state).toBe("stopped");
      expect(fake.subscribes).toHaveLength(1);
    }
    for (const code of [Code.Canceled, Code.Internal, Code.Aborted, Code.Unknown]) {
      const { fake, feed } = setup();
      const r = run(feed);
      await fake.feedsOpened(1);
      fake.drop(code);
      await fake.feedsOpened(2);
      feed.close();
      expect(await r.done).toBeUndefined();
    }
  });

  it("stops on INVALID_ARGUMENT for a position beyond the room (e.g. a state file of another server)", async () => {
    const { feed } = setup({ positions: { "10": "99" } });
    const err = await run(feed).done;
    expect(err?.code).toBe(Code.InvalidArgument);
  });

  it("asks getToken again on UNAUTHENTICATED and resumes with the new token", async () => {
    const fake = new FakeChat();
    fake.addRoom(10n, [1n], 1);
    const tokens = ["first", "second"];
    fake.login(1n, "first");
    const getToken = vi.fn(({ rejected }: { rejected: string | undefined }) => {
      void rejected;
      return tokens.shift();
    });
    const client = createChatClientFromTransport({ transport: fake.transport(), getToken });
    const feed = client.follow(fast);
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.tokens.clear(); // "first" revoked...
    fake.login(1n, "second"); // ...and "second" is what getToken gives next
    fake.drop(Code.Unauthenticated);
    await fake.feedsOpened(2);
    expect(fake.feedTokens).toEqual(["first", "second"]);
    expect(getToken.mock.calls.map((c) => c[0].rejected)).toEqual([undefined, "first"]);
    fake.post(10n, 1n, "after");
    await until(() => seqs(r.items).includes("10:2"));
  });

  it("stops on UNAUTHENTICATED with a fixed token, or when getToken has nothing better", async () => {
    const a = setup();
    const ra = run(a.feed);
    await a.fake.feedsOpened(1);
    a.fake.drop(Code.Unauthenticated);
    expect((await ra.done)?.code).toBe(Code.Unauthenticated);

    // getToken keeps returning the refused token: no loop.
    const fake = new FakeChat();
    fake.login(1n, "same");
    const client = createChatClientFromTransport({
      transport: fake.transport(),
      getToken: () => "same",
    });
    const feed = client.follow(fast);
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.drop(Code.Unauthenticated);
    expect((await r.done)?.code).toBe(Code.Unauthenticated);
    expect(fake.subscribes).toHaveLength(1);

    // A new token that is refused too: one refresh, then stop.
    const fake2 = new FakeChat();
    fake2.login(1n, "t0");
    let n = 0;
    const client2 = createChatClientFromTransport({
      transport: fake2.transport(),
      getToken: () => `t${n++}`,
    });
    const r2 = run(client2.follow(fast));
    await fake2.feedsOpened(1);
    fake2.tokens.clear();
    fake2.drop(Code.Unauthenticated);
    expect((await r2.done)?.code).toBe(Code.Unauthenticated);
    expect(n).toBe(2);
  });

  it("drops positions of rooms it no longer belongs to (NOT_FOUND) and says so", async () => {
    const { fake, feed } = setup({ positions: { "10": "3", "11": "0" } });
    cleanup = () => feed.close();
    fake.removeMember(11n, 1n); // removed while the service was down
    const r = run(feed);
    await fake.feedsOpened(2);
    expect(fake.subscribes).toEqual([
      [
        { roomId: 10n, lastSeq: 3n },
        { roomId: 11n, lastSeq: 0n },
      ],
      [{ roomId: 10n, lastSeq: 3n }],
    ]);
    const removed = r.items.find((i) => i.case === "roomRemoved");
    expect(removed?.case === "roomRemoved" && removed.value.roomId).toBe(11n);
    expect(feed.positions()).toEqual([{ roomId: 10n, lastSeq: 3n }]);
  });

  it("hands a reset over as a typed event with the history up to it, and continues after it", async () => {
    const { fake, feed } = setup({
      positions: { "10": "1" },
      reloadOnReset: { limit: 2 },
    });
    cleanup = () => feed.close();
    fake.maxReplay = 1; // 2 behind: too far
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.post(10n, 2n, "after the reset");
    await until(() => seqs(r.items).length === 1);
    const reset = r.items.find((i) => i.case === "reset");
    if (reset?.case !== "reset") throw new Error("no reset");
    expect(reset.value.lastSeq).toBe(3n);
    expect(reset.previousSeq).toBe(1n);
    expect(reset.history?.messages.map((m) => m.seq)).toEqual([2n, 3n]);
    expect(fake.listMessagesCalls).toEqual([{ roomId: 10n, beforeSeq: 4n, limit: 2 }]);
    expect(seqs(r.items)).toEqual(["10:4"]);
    const order = r.items.filter((i) => i.case !== "status").map((i) => i.case);
    expect(order).toEqual(["ready", "reset", "roomEvent"]);
  });

  it("saves and restores positions, so a new process resumes where the old one stopped", async () => {
    const { fake, client, feed } = setup();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.post(10n, 2n, "seen");
    await until(() => seqs(r.items).length === 1);
    const saved = JSON.stringify(positionsToJson(feed.positions()));
    feed.close();
    await r.done;
    expect(JSON.parse(saved)).toEqual({ "10": "4", "11": "0" });
    fake.post(10n, 2n, "while stopped");
    const again = client.follow({ ...fast, positions: JSON.parse(saved) });
    cleanup = () => again.close();
    const r2 = run(again);
    await until(() => seqs(r2.items).length === 1);
    expect(seqs(r2.items)).toEqual(["10:5"]);
    expect(() => positionsFrom({ "10": "-1" })).toThrow(/invalid sequence/);
    expect(() => positionsFrom({ x: "1" })).toThrow(/invalid room id/);
  });

  it("reconnects when the server goes silent", async () => {
    const { fake, feed } = setup({ silenceMs: 30 });
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(2);
    const w = r.items.find((i) => i.case === "status" && i.value.state === "waiting");
    expect(w?.case === "status" && w.value.state === "waiting" && w.value.error.code).toBe(
      Code.DeadlineExceeded,
    );
  });

  it("does not count the caller's time with an item as server silence", async () => {
    const { fake, feed } = setup({ silenceMs: 50 });
    cleanup = () => feed.close();
    await (async () => {
      for await (const item of feed) {
        if (item.case === "status" && item.value.state === "live") {
          await new Promise((r) => setTimeout(r, 150)); // busy with the item
          fake.post(10n, 2n, "x");
        }
        if (item.case === "roomEvent") break;
      }
    })();
    expect(fake.subscribes).toHaveLength(1);
  });

  it("ends promptly on close() during a backoff wait, and on break", async () => {
    const { fake, feed } = setup({ backoff: { baseMs: 60_000, capMs: 60_000 } });
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.drop();
    await until(() => feed.status.state === "waiting");
    const t0 = Date.now();
    feed.close();
    expect(await r.done).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1_000);

    const b = setup();
    for await (const item of b.feed) if (item.case === "ready") break;
    await until(() => b.fake.openFeeds === 0, "the stream to close");
  });

  it("places rooms left out of a full request with a reset instead of skipping their events", async () => {
    const fake = new FakeChat();
    const token = fake.login(1n);
    const positions: Record<string, string> = {};
    for (let i = 1; i <= 1001; i++) {
      fake.addRoom(BigInt(i), [1n], i === 1001 ? 2 : 0);
      positions[String(i)] = "0";
    }
    const client = createChatClientFromTransport({ transport: fake.transport(), token });
    const feed = client.follow({ ...fast, positions });
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    await until(() => r.items.some((i) => i.case === "reset"));
    expect(fake.subscribes[0]).toHaveLength(1000);
    const reset = r.items.find((i) => i.case === "reset");
    expect(reset?.case === "reset" && [reset.value.roomId, reset.value.lastSeq]).toEqual([
      1001n,
      2n,
    ]);
  });

  it("passes typing, presence and read markers through, heartbeats only when asked", async () => {
    const { fake, feed } = setup();
    cleanup = () => feed.close();
    const r = run(feed);
    await fake.feedsOpened(1);
    fake.emit(create(FeedEventSchema, { event: { case: "heartbeat", value: {} } }));
    fake.emit(
      create(FeedEventSchema, {
        event: { case: "typing", value: { roomId: 10n, userId: 2n, typing: true } },
      }),
    );
    fake.emit(
      create(FeedEventSchema, { event: { case: "presence", value: { userId: 2n, online: true } } }),
    );
    await until(() => r.items.some((i) => i.case === "presence"));
    expect(r.items.filter((i) => i.case !== "status").map((i) => i.case)).toEqual([
      "ready",
      "typing",
      "presence",
    ]);
  });
});

/** The reconnect loop against a fake FeedService on createRouterTransport. */
import { Code, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FeedService } from "../../../gen/chat/v1/feed_pb.js";
import { FakeChat, myRoom } from "../test/fake-server.js";
import { FeedClient, type FeedStatus, type Position } from "./feed-client.js";

function setup(positions: () => Position[]) {
  const fake = new FakeChat();
  const me = fake.addUser("me", "pw");
  const token = fake.tokenFor(me);
  fake.rooms = [myRoom(10n, "general", 5n)];
  const feed = createClient(
    FeedService,
    fake.transport({ token: () => token, onUnauthenticated: () => {} }),
  );
  const statuses: FeedStatus[] = [];
  const events: string[] = [];
  const onUnauthenticated = vi.fn();
  const onRoomsStale = vi.fn(async () => {});
  const random = vi.fn(() => 0.5);
  const client = new FeedClient({
    subscribe: (p, signal) => feed.subscribe({ positions: p }, { signal }),
    positions,
    onEvent: (e) => events.push(e.event.case ?? "?"),
    onStatus: (s) => statuses.push(s),
    onUnauthenticated,
    onRoomsStale,
    random,
    backoff: { baseMs: 4, capMs: 20 },
  });
  return { fake, client, statuses, events, onUnauthenticated, onRoomsStale, random };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe("FeedClient", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("reconnects after a failure with growing jittered delays, resuming from current positions", async () => {
    let seq = 5n;
    const t = setup(() => [{ roomId: 10n, lastSeq: seq }]);
    stop = () => t.client.stop();
    void t.client.start();
    await t.fake.feedOpen();
    expect(t.statuses.at(-1)).toEqual({ state: "live" });
    seq = 9n; // the app applied events up to 9
    t.fake.dropFeed(Code.Unavailable);
    await until(() => t.fake.subscribes.length === 2);
    t.fake.dropFeed(Code.ResourceExhausted);
    await until(() => t.fake.subscribes.length === 3);
    expect(t.fake.subscribes).toEqual([
      [{ roomId: 10n, lastSeq: 5n }],
      [{ roomId: 10n, lastSeq: 9n }],
      [{ roomId: 10n, lastSeq: 9n }],
    ]);
    const waits = t.statuses.filter((s) => s.state === "waiting");
    expect(waits.map((w) => w.state === "waiting" && w.attempt)).toEqual([0, 1]);
    // Full jitter: random() × ceiling (4 ms, then 8 ms).
    expect(t.random).toHaveBeenCalledTimes(2);
    expect(t.events.filter((e) => e === "ready")).toHaveLength(3);
  });

  it("stops for good on PermissionDenied, InvalidArgument and Canceled", async () => {
    for (const code of [Code.PermissionDenied, Code.InvalidArgument, Code.Canceled]) {
      const t = setup(() => []);
      const done = t.client.start();
      await t.fake.feedOpen();
      t.fake.dropFeed(code);
      await done;
      expect(t.statuses.at(-1)?.state).toBe("stopped");
      expect(t.fake.subscribes).toHaveLength(1);
    }
  });

  it("signs out on Unauthenticated", async () => {
    const t = setup(() => []);
    const done = t.client.start();
    await t.fake.feedOpen();
    t.fake.dropFeed(Code.Unauthenticated);
    await done;
    expect(t.onUnauthenticated).toHaveBeenCalledOnce();
    expect(t.fake.subscribes).toHaveLength(1);
  });

  it("refreshes the room list when a position names a room it may no longer see", async () => {
    const t = setup(() => []);
    stop = () => t.client.stop();
    void t.client.start();
    await t.fake.feedOpen();
    t.fake.dropFeed(Code.NotFound);
    await until(() => t.fake.subscribes.length === 2);
    expect(t.onRoomsStale).toHaveBeenCalledOnce();
  });

  it("reconnects when the server goes silent (no heartbeat)", async () => {
    const fake = new FakeChat();
    const me = fake.addUser("me", "pw");
    const token = fake.tokenFor(me);
    const feed = createClient(
      FeedService,
      fake.transport({ token: () => token, onUnauthenticated() {} }),
    );
    const client = new FeedClient({
      subscribe: (p, signal) => feed.subscribe({ positions: p }, { signal }),
      positions: () => [],
      onEvent() {},
      onStatus() {},
      onUnauthenticated() {},
      onRoomsStale: async () => {},
      silenceMs: 30,
      backoff: { baseMs: 1, capMs: 1 },
    });
    stop = () => client.stop();
    void client.start();
    await until(() => fake.subscribes.length >= 2);
  });
});

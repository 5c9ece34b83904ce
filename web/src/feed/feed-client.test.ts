/** The app's feed (the SDK's resumable feed) against a fake FeedService on createRouterTransport. */
import {
  Code,
  createChatClientFromTransport,
  type FeedOptions,
  type Position,
} from "@protochat/sdk";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeChat, myRoom, textMessage } from "../test/fake-server.js";
import { FeedClient, type FeedStatus } from "./feed-client.js";

function setup(positions: Position[], options: FeedOptions = {}) {
  const fake = new FakeChat();
  const me = fake.addUser("me", "pw");
  const token = fake.tokenFor(me);
  fake.rooms = [myRoom(10n, "general", 5n)];
  const client = createChatClientFromTransport({
    transport: fake.transport({ token: () => token, onUnauthenticated: () => {} }),
  });
  const statuses: FeedStatus[] = [];
  const events: string[] = [];
  const onUnauthenticated = vi.fn();
  const random = vi.fn(() => 0.5);
  const feed = client.follow({ random, backoff: { baseMs: 4, capMs: 20 }, ...options });
  feed.seed(positions);
  const app = new FeedClient({
    feed,
    onEvent: (e) => events.push(e.event.case ?? "?"),
    onStatus: (s) => statuses.push(s),
    onUnauthenticated,
  });
  return { fake, app, feed, statuses, events, onUnauthenticated, random };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe("FeedClient", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("reconnects after a failure with growing jittered delays, resuming from current positions", async () => {
    const t = setup([{ roomId: 10n, lastSeq: 5n }]);
    stop = () => t.app.stop();
    void t.app.start();
    await t.fake.feedOpen();
    await until(() => t.statuses.at(-1)?.state === "live");
    for (const seq of [6n, 7n, 8n, 9n]) {
      t.fake.emit({
        event: {
          case: "roomEvent",
          value: {
            roomId: 10n,
            seq,
            change: {
              case: "messageCreated",
              value: { message: textMessage(10n, seq, 2n, `m${seq}`) },
            },
          },
        },
      });
    }
    await until(() => t.events.filter((e) => e === "roomEvent").length === 4);
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
    await until(() => t.events.filter((e) => e === "ready").length === 3);
  });

  it("stops for good on PermissionDenied and InvalidArgument; reconnects after Canceled", async () => {
    for (const code of [Code.PermissionDenied, Code.InvalidArgument]) {
      const t = setup([]);
      const done = t.app.start();
      await t.fake.feedOpen();
      t.fake.dropFeed(code);
      await done;
      expect(t.statuses.at(-1)?.state).toBe("stopped");
      expect(t.fake.subscribes).toHaveLength(1);
    }
    const t = setup([]);
    stop = () => t.app.stop();
    void t.app.start();
    await t.fake.feedOpen();
    t.fake.dropFeed(Code.Canceled);
    await until(() => t.fake.subscribes.length === 2);
  });

  it("signs out on Unauthenticated", async () => {
    const t = setup([]);
    const done = t.app.start();
    await t.fake.feedOpen();
    t.fake.dropFeed(Code.Unauthenticated);
    await done;
    expect(t.onUnauthenticated).toHaveBeenCalledOnce();
    expect(t.fake.subscribes).toHaveLength(1);
  });

  it("drops a room it may no longer see (NotFound) and tells the app, then resumes without it", async () => {
    const t = setup([
      { roomId: 10n, lastSeq: 5n },
      { roomId: 99n, lastSeq: 1n },
    ]);
    stop = () => t.app.stop();
    void t.app.start();
    await t.fake.feedOpen();
    t.fake.dropFeed(Code.NotFound);
    await until(() => t.fake.subscribes.length === 2);
    expect(t.events).toContain("roomRemoved");
    expect(t.fake.subscribes[1]).toEqual([{ roomId: 10n, lastSeq: 5n }]);
  });

  it("reconnects when the server goes silent (no heartbeat)", async () => {
    const t = setup([], { silenceMs: 30, backoff: { baseMs: 1, capMs: 1 } });
    stop = () => t.app.stop();
    void t.app.start();
    await until(() => t.fake.subscribes.length >= 2);
  });
});

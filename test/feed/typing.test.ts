/**
 * SetTyping: members hear "typing" once per burst of calls (coalesced) and
 * "stopped" when told or about 6 s after the last call; non-members get
 * NotFound and nobody hears anything.
 */
import { Code } from "@connectrpc/connect";
import { expect, describe as group, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { expectCode } from "../support/errors.js";
import { describe, type Ev, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, send } from "../support/users.js";

const { a, b } = setupTestEnv({ redis: true, instances: 2 });

const typingOnly = (evs: Ev[]) => evs.filter((e) => e.case === "typing").map(describe);

/** The next typing frame, with when it arrived. */
async function nextTyping(feed: FeedReader, ms: number): Promise<{ label: string; at: number }> {
  const evs = await feed.until((e) => e.case === "typing", ms);
  const last = evs.at(-1) as Ev;
  expect(evs.slice(0, -1).map(describe)).toEqual([]);
  return { label: describe(last), at: Date.now() };
}

group.concurrent("SetTyping", () => {
  it("coalesces a burst of typing=true into one event, then explicit false stops it", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    // Bob listens on the other instance: typing crosses instances via Redis.
    const feed = FeedReader.open(bob.on(b).feed);
    try {
      await feed.ready();
      for (let i = 0; i < 10; i++) await alice.feed.setTyping({ roomId: room, typing: true });
      expect((await nextTyping(feed, 2_000)).label).toBe(`typing ${room} ${alice.id} true`);
      expect(typingOnly(await feed.quiet(700))).toEqual([]);
      await alice.feed.setTyping({ roomId: room, typing: false });
      expect((await nextTyping(feed, 2_000)).label).toBe(`typing ${room} ${alice.id} false`);
      // Stopping twice says nothing more.
      await alice.feed.setTyping({ roomId: room, typing: false });
      expect(typingOnly(await feed.quiet(500))).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("expires by itself about 6 s after the last call", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const feed = FeedReader.open(bob.feed);
    try {
      await feed.ready();
      await alice.feed.setTyping({ roomId: room, typing: true });
      const started = await nextTyping(feed, 2_000);
      expect(started.label).toBe(`typing ${room} ${alice.id} true`);
      // Another keystroke a second later extends the expiry without a new event.
      await new Promise((r) => setTimeout(r, 1_000));
      const lastCall = Date.now();
      await alice.feed.setTyping({ roomId: room, typing: true });
      const stopped = await nextTyping(feed, 9_000);
      expect(stopped.label).toBe(`typing ${room} ${alice.id} false`);
      const after = stopped.at - lastCall;
      expect(after).toBeGreaterThanOrEqual(5_500);
      expect(after).toBeLessThan(7_500);
    } finally {
      feed.close();
    }
  });

  it("keeps members' typing apart, and messages flow in between", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [bob, carol]);
    const feed = FeedReader.open(carol.feed);
    try {
      await feed.ready();
      await alice.feed.setTyping({ roomId: room, typing: true });
      expect((await nextTyping(feed, 2_000)).label).toBe(`typing ${room} ${alice.id} true`);
      await bob.on(b).feed.setTyping({ roomId: room, typing: true });
      expect((await nextTyping(feed, 2_000)).label).toBe(`typing ${room} ${bob.id} true`);
      await send(alice, room, "done typing");
      await alice.feed.setTyping({ roomId: room, typing: false });
      const evs = await feed.until((e) => e.case === "typing", 2_000);
      expect(evs.map(describe)).toEqual([
        `${room}:2:messageCreated:done typing`,
        `typing ${room} ${alice.id} false`,
      ]);
      await bob.on(b).feed.setTyping({ roomId: room, typing: false });
      expect((await nextTyping(feed, 2_000)).label).toBe(`typing ${room} ${bob.id} false`);
    } finally {
      feed.close();
    }
  });

  it("answers NotFound to non-members, and nobody hears anything", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const carol = await newUser(a);
    const pub = await newRoom(alice, [bob]);
    const priv = await newRoom(alice, [bob], Visibility.PRIVATE);
    const feed = FeedReader.open(bob.feed);
    try {
      await feed.ready();
      for (const roomId of [pub, priv, 888_888_888n]) {
        await expectCode(carol.feed.setTyping({ roomId, typing: true }), Code.NotFound);
      }
      await expectCode(carol.feed.setTyping({ roomId: 0n, typing: true }), Code.InvalidArgument);
      // A former member is a non-member too.
      await bob.rooms.leaveRoom({ roomId: pub });
      await expectCode(bob.feed.setTyping({ roomId: pub, typing: true }), Code.NotFound);
      const evs = await feed.quiet(500);
      expect(typingOnly(evs)).toEqual([]);
    } finally {
      feed.close();
    }
  });
});

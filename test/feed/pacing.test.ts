/**
 * Replays are paced by the reader (they never cut it off by themselves),
 * and they must leave room in the queue for live frames: a reader that
 * looks away briefly during a long replay, while a single live event
 * arrives, is not "too slow".
 */
import { expect, it } from "vitest";
import { inMemoryInstance } from "../support/env.js";
import { FeedReader, roomEvents } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { sleep } from "../support/timing.js";
import { newRoom, newUser, send } from "../support/users.js";

const { env, a } = setupTestEnv({ redis: true });

it("keeps room in the queue for live events while a long replay waits for the reader", async () => {
  const inst = inMemoryInstance(env, { feed: { queueLimit: 6 } });
  const alice = await newUser(a);
  const bob = await newUser(a);
  const old = await newRoom(alice, [bob]);
  const busy = await newRoom(alice, [bob]);
  for (let i = 0; i < 30; i++) await send(bob, old, `old${i}`);
  const feed = FeedReader.open(alice.on(inst.transport).feed, {
    positions: [{ roomId: old, lastSeq: 0n }],
  });
  try {
    await feed.ready();
    // The reader looks away briefly: the replay fills the queue as far as it
    // may and waits. One live event arrives meanwhile; the replay must have
    // left room for it.
    await sleep(300);
    await send(bob, busy, "one live event");
    await sleep(200);
    const labels = roomEvents(await feed.take(32, 10_000)).map((e) => `${e.roomId}:${e.seq}`);
    expect(labels.filter((l) => l.startsWith(`${old}:`))).toEqual(
      Array.from({ length: 31 }, (_, i) => `${old}:${i + 1}`),
    );
    expect(labels.filter((l) => l.startsWith(`${busy}:`))).toEqual([`${busy}:2`]);
  } finally {
    feed.close();
  }
});

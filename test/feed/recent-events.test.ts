/**
 * Room hubs keep their latest events and live on for a while after the
 * last feed left: a feed resuming within them is served from memory (no
 * room_events read), one further behind still gets every event from
 * storage, in order.
 */
import { expect, it } from "vitest";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { inMemoryInstance } from "../support/env.js";
import { describe, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, send } from "../support/users.js";

const { env } = setupTestEnv({ instances: 0 });

it("resumes from the hub's recent events without reading storage, and from storage beyond them", async () => {
  let reads = 0;
  const counting = env.prisma.$extends({
    query: {
      roomEvent: {
        async findMany({ args, query }) {
          reads += 1;
          return query(args);
        },
      },
    },
  }) as unknown as PrismaClient;
  const inst = inMemoryInstance(env, {
    prisma: counting,
    feed: { recentEvents: 8, lingerMs: 60_000 },
  });
  const alice = await newUser(inst.transport, "recent");
  const bob = await newUser(inst.transport, "recent");
  const room = await newRoom(alice, [bob]);

  // Bob's feed brings the room's hub up, then leaves: the hub lingers.
  const first = FeedReader.open(bob.feed);
  const head = (await first.ready()).rooms.find((r) => r.roomId === room)?.lastSeq ?? 0n;
  first.close();
  for (let i = 0; i < 5; i++) await send(alice, room, `near ${i}`);

  reads = 0;
  const near = FeedReader.open(bob.feed, { positions: [{ roomId: room, lastSeq: head }] });
  await near.ready();
  expect((await near.take(5)).map(describe)).toEqual(
    [0, 1, 2, 3, 4].map((i) => `${room}:${head + BigInt(i) + 1n}:messageCreated:near ${i}`),
  );
  expect(reads).toBe(0);
  near.close();

  for (let i = 0; i < 20; i++) await send(alice, room, `far ${i}`);
  reads = 0;
  const far = FeedReader.open(bob.feed, { positions: [{ roomId: room, lastSeq: head + 5n }] });
  await far.ready();
  expect((await far.take(20)).map(describe)).toEqual(
    Array.from(
      { length: 20 },
      (_, i) => `${room}:${head + BigInt(i) + 6n}:messageCreated:far ${i}`,
    ),
  );
  expect(reads).toBeGreaterThan(0);
  far.close();
});

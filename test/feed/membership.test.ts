/**
 * Membership changes on an open feed: joining or being added starts a room
 * (room_added, then its events), leaving or being removed ends it
 * (member_removed, then room_removed, then nothing of that room), and a feed
 * never carries rooms its user is not in — also when the change races with
 * the start of the stream or with the room being added.
 */
import type { Transport } from "@connectrpc/connect";
import { expect, describe as group, it } from "vitest";
import { MemberRemoved_Reason } from "../../gen/chat/v1/event_pb.js";
import { Reset_Reason } from "../../gen/chat/v1/feed_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { inMemoryInstance } from "../support/env.js";
import { describe, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { Gate, gatedPrisma } from "../support/gates.js";
import { lastSeqOf } from "../support/rows.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });

const KICKED = MemberRemoved_Reason.KICKED;
const BANNED = MemberRemoved_Reason.BANNED;
const LEFT = MemberRemoved_Reason.LEFT;

/** Opens the user's feed (on instance b unless told) and waits for ready. */
async function openFeed(user: TestUser, t: Transport = b): Promise<FeedReader> {
  const feed = FeedReader.open(user.on(t).feed);
  await feed.ready();
  return feed;
}

group("added to a room", () => {
  it("invite: room_added, then members_added, then the room's events", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [], Visibility.PRIVATE);
    await send(alice, room, "before carol");
    const feed = await openFeed(carol);
    try {
      await alice.rooms.inviteMembers({ roomId: room, userIds: [carol.id] });
      await send(alice, room, "welcome");
      const evs = await feed.take(3);
      expect(evs.map(describe)).toEqual([
        `room_added ${room}`,
        `${room}:3:membersAdded:${carol.id}`,
        `${room}:4:messageCreated:welcome`,
      ]);
      const added = evs[0];
      if (added?.case !== "roomAdded") throw new Error("no room_added");
      expect(added.value.room?.visibility).toBe(Visibility.PRIVATE);
      expect(added.value.room?.memberCount).toBe(2);
      expect(await feed.quiet(200)).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("join (on another instance): room_added, members_added, then events", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice);
    await send(alice, room, "old");
    const feed = await openFeed(carol, b);
    try {
      const joined = await carol.rooms.joinRoom({ roomId: room });
      expect(joined.room?.lastSeq).toBe(3n);
      await send(alice, room, "hi carol");
      await send(carol, room, "hi all");
      expect((await feed.take(4)).map(describe)).toEqual([
        `room_added ${room}`,
        `${room}:3:membersAdded:${carol.id}`,
        `${room}:4:messageCreated:hi carol`,
        `${room}:5:messageCreated:hi all`,
      ]);
    } finally {
      feed.close();
    }
  });

  it("created with the user as a member: room_added and the room from seq 1", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const feed = await openFeed(carol);
    try {
      const room = await newRoom(alice, [carol], Visibility.PRIVATE);
      await send(alice, room, "first");
      expect((await feed.take(3)).map(describe)).toEqual([
        `room_added ${room}`,
        `${room}:1:membersAdded:${alice.id}+${carol.id}`,
        `${room}:2:messageCreated:first`,
      ]);
    } finally {
      feed.close();
    }
  });
});

group("removed from a room", () => {
  for (const [how, reason] of [
    ["kicked", KICKED],
    ["banned", BANNED],
    ["left", LEFT],
  ] as const) {
    it(`${how}: member_removed, room_removed, then nothing of that room`, async () => {
      const alice = await newUser(a);
      const carol = await newUser(a);
      const room = await newRoom(alice, [carol]);
      const other = await newRoom(alice, [carol]);
      const feed = await openFeed(carol);
      // An observer who stays sees the whole story.
      const watcher = await openFeed(alice, a);
      try {
        await send(alice, room, "before");
        if (how === "kicked") await alice.rooms.kickMember({ roomId: room, userId: carol.id });
        if (how === "banned") await alice.rooms.banMember({ roomId: room, userId: carol.id });
        if (how === "left") await carol.rooms.leaveRoom({ roomId: room });
        for (let i = 0; i < 5; i++) await send(alice, room, `after${i}`);
        await send(alice, other, "other room goes on");
        const evs = await feed.take(4);
        expect(evs.map(describe)).toEqual([
          `${room}:2:messageCreated:before`,
          `${room}:3:memberRemoved:${carol.id}/${reason}`,
          `room_removed ${room}`,
          `${other}:2:messageCreated:other room goes on`,
        ]);
        await send(alice, room, "later");
        expect(await feed.quiet(300)).toEqual([]);
        // The others keep the room.
        const seen = await watcher.until((e) => describe(e) === `${room}:9:messageCreated:later`);
        expect(seen.filter((e) => e.case === "roomEvent" && e.value.roomId === room).length).toBe(
          8,
        );
        expect(seen.some((e) => e.case === "roomRemoved")).toBe(false);
      } finally {
        feed.close();
        watcher.close();
      }
    });
  }

  it("leave and rejoin: the second membership starts with room_added, without what was missed", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [carol]);
    const feed = await openFeed(carol);
    try {
      await carol.rooms.leaveRoom({ roomId: room });
      await send(alice, room, "while away");
      await carol.rooms.joinRoom({ roomId: room });
      await send(alice, room, "back");
      expect((await feed.take(5)).map(describe)).toEqual([
        `${room}:2:memberRemoved:${carol.id}/${LEFT}`,
        `room_removed ${room}`,
        `room_added ${room}`,
        `${room}:4:membersAdded:${carol.id}`,
        `${room}:5:messageCreated:back`,
      ]);
      expect(await feed.quiet(200)).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("leave and rejoin in quick succession (no waiting in between)", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [carol]);
    const feed = await openFeed(carol);
    try {
      for (let i = 0; i < 3; i++) {
        await carol.rooms.leaveRoom({ roomId: room });
        await carol.rooms.joinRoom({ roomId: room });
      }
      await send(alice, room, "end");
      const evs = await feed.until((e) => describe(e) === `${room}:8:messageCreated:end`);
      expect(evs.map(describe)).toEqual([
        `${room}:2:memberRemoved:${carol.id}/${LEFT}`,
        `room_removed ${room}`,
        `room_added ${room}`,
        `${room}:3:membersAdded:${carol.id}`,
        `${room}:4:memberRemoved:${carol.id}/${LEFT}`,
        `room_removed ${room}`,
        `room_added ${room}`,
        `${room}:5:membersAdded:${carol.id}`,
        `${room}:6:memberRemoved:${carol.id}/${LEFT}`,
        `room_removed ${room}`,
        `room_added ${room}`,
        `${room}:7:membersAdded:${carol.id}`,
        `${room}:8:messageCreated:end`,
      ]);
    } finally {
      feed.close();
    }
  });
});

group("authorization", () => {
  it("never carries rooms the user is not in, public or private", async () => {
    const alice = await newUser(a);
    const carol = await newUser(a);
    const mine = await newRoom(carol);
    const pub = await newRoom(alice);
    const priv = await newRoom(alice, [], Visibility.PRIVATE);
    const feed = await openFeed(carol);
    try {
      await Promise.all([send(alice, pub, "p1"), send(alice, priv, "s1")]);
      await alice.rooms.inviteMembers({ roomId: pub, userIds: [(await newUser(a)).id] });
      await alice.feed.setTyping({ roomId: pub, typing: true });
      await alice.feed.setTyping({ roomId: priv, typing: true });
      await send(carol, mine, "mine");
      expect((await feed.take(1)).map(describe)).toEqual([`${mine}:2:messageCreated:mine`]);
      expect(await feed.quiet(300)).toEqual([]);
    } finally {
      feed.close();
    }
  });
});

group("races with membership changes", () => {
  it("a removal while the added room is being loaded still ends the room", async () => {
    const roomLoad = new Gate();
    const slow = inMemoryInstance(env, { prisma: gatedPrisma(env.prisma, { roomLoad }) });
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [], Visibility.PRIVATE);
    const feed = await openFeed(carol, slow.transport);
    try {
      const held = roomLoad.arm();
      await alice.rooms.inviteMembers({ roomId: room, userIds: [carol.id] });
      // The feed has read the room for room_added and is held there.
      await held.reached;
      await alice.rooms.kickMember({ roomId: room, userId: carol.id });
      // Let the kick notification reach the feed first, then the room load.
      await feed.quiet(200);
      held.release();
      for (let i = 0; i < 3; i++) await send(alice, room, `not for carol ${i}`);
      // The short membership, start to end, and nothing of the room after.
      expect((await feed.quiet(500)).map(describe)).toEqual([
        `room_added ${room}`,
        `${room}:2:membersAdded:${carol.id}`,
        `${room}:3:memberRemoved:${carol.id}/${KICKED}`,
        `room_removed ${room}`,
      ]);
    } finally {
      feed.close();
    }
  });

  it("a removal while Subscribe reads the memberships still ends the room", async () => {
    const snapshot = new Gate();
    const slow = inMemoryInstance(env, { prisma: gatedPrisma(env.prisma, { snapshot }) });
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [carol]);
    const held = snapshot.arm();
    const feed = FeedReader.open(carol.on(slow.transport).feed);
    try {
      // The snapshot (with carol in the room) is read and held.
      await held.reached;
      await alice.rooms.kickMember({ roomId: room, userId: carol.id });
      await new Promise((r) => setTimeout(r, 200));
      held.release();
      const ready = await feed.ready();
      expect(ready.rooms.map((r) => r.roomId)).toEqual([room]);
      for (let i = 0; i < 3; i++) await send(alice, room, `not for carol ${i}`);
      const labels = (await feed.quiet(500)).map(describe);
      expect(labels).toEqual([
        `${room}:2:memberRemoved:${carol.id}/${KICKED}`,
        `room_removed ${room}`,
      ]);
    } finally {
      feed.close();
    }
  });

  it("an invite while Subscribe reads the memberships still comes after ready", async () => {
    const snapshot = new Gate();
    const slow = inMemoryInstance(env, { prisma: gatedPrisma(env.prisma, { snapshot }) });
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [], Visibility.PRIVATE);
    const held = snapshot.arm();
    const feed = FeedReader.open(carol.on(slow.transport).feed);
    try {
      await held.reached;
      await alice.rooms.inviteMembers({ roomId: room, userIds: [carol.id] });
      await new Promise((r) => setTimeout(r, 200));
      held.release();
      const first = await feed.nextAny();
      expect(describe(first)).toBe("ready ");
      await send(alice, room, "hello");
      expect((await feed.take(3)).map(describe)).toEqual([
        `room_added ${room}`,
        `${room}:2:membersAdded:${carol.id}`,
        `${room}:3:messageCreated:hello`,
      ]);
      expect(await lastSeqOf(env, room)).toBe(3n);
    } finally {
      feed.close();
    }
  });
});

group("removal racing with a reset", () => {
  it("a removal while a far-behind room is attached ends the room (no events after it)", async () => {
    const hubHead = new Gate();
    const slow = inMemoryInstance(env, {
      prisma: gatedPrisma(env.prisma, { hubHead }),
      feed: { maxReplay: 2 },
    });
    const alice = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [carol]);
    for (let i = 0; i < 9; i++) await send(alice, room, `old${i}`);
    const held = hubHead.arm();
    // Position 1 of 10: too far behind, so the feed will reset the room.
    const feed = FeedReader.open(carol.on(slow.transport).feed, {
      positions: [{ roomId: room, lastSeq: 1n }],
    });
    try {
      await held.reached;
      await alice.rooms.kickMember({ roomId: room, userId: carol.id });
      await new Promise((r) => setTimeout(r, 200));
      held.release();
      await feed.ready();
      for (let i = 0; i < 3; i++) await send(alice, room, `not for carol ${i}`);
      const labels = (await feed.quiet(600)).map(describe);
      // The reset's last_seq (11) covers the removal: the room must end
      // right there, without delivering anything after it.
      expect(labels).toEqual([
        `reset ${room} reason=${Reset_Reason.TOO_FAR_BEHIND} last=11`,
        `room_removed ${room}`,
      ]);
    } finally {
      feed.close();
    }
  });
});

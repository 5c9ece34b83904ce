// Unread and mention counts: they follow sends, edits, deletions and MarkRead,
// never count the reader's own messages, SYSTEM messages or tombstones, and
// MarkRead only moves forward.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Message } from "../../gen/chat/v1/message_pb.js";
import { unreadCounts } from "../../server/domain/unread.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

let n = 0;
async function send(u: TestUser, roomId: bigint, text: string): Promise<Message> {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: `u-${++n}` });
  if (!res.message) throw new Error("no message");
  return res.message;
}

/** Counts as MarkRead reports them, without moving the marker (seq 0). */
async function counts(u: TestUser, roomId: bigint) {
  const r = await u.msgs.markRead({ roomId, seq: 0n });
  return { marker: r.lastReadSeq, unread: r.unreadCount, mentions: r.mentionCount };
}

async function lastSeq(roomId: bigint) {
  return (await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } })).lastSeq;
}

describe("unread and mention counts", () => {
  it("follow sends, edits, deletions and MarkRead", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const bob = await newUser(transport);
    const roomId = await newRoom(owner, [ann, bob]);
    const start = await ann.msgs.markRead({ roomId, seq: await lastSeq(roomId) });
    expect([start.unreadCount, start.mentionCount]).toEqual([0, 0]);

    const o1 = await send(owner, roomId, "one");
    const o2 = await send(owner, roomId, `two @${ann.username}`);
    await send(owner, roomId, "three");
    const b1 = await send(bob, roomId, `@${ann.username.toUpperCase()} from bob`);
    // Ann's own messages never count, even mentioning herself.
    await send(ann, roomId, "mine");
    await send(ann, roomId, `note to self @${ann.username}`);
    expect(await counts(ann, roomId)).toMatchObject({ unread: 4, mentions: 2 });
    expect(await counts(bob, roomId)).toMatchObject({ unread: 5, mentions: 0 });

    // SYSTEM messages (membership changes) don't count; CUSTOM events do.
    const carl = await newUser(transport);
    await owner.rooms.inviteMembers({ roomId, userIds: [carl.id] });
    expect(await counts(ann, roomId)).toMatchObject({ unread: 4, mentions: 2 });
    await owner.msgs.sendCustomEvent({
      roomId,
      type: "ping",
      body: { case: "json", value: "{}" },
      clientMsgId: `u-${++n}`,
    });
    expect(await counts(ann, roomId)).toMatchObject({ unread: 5, mentions: 2 });

    // Deleting a message removes it from both counts.
    await owner.msgs.deleteMessage({ messageId: o2.id });
    expect(await counts(ann, roomId)).toMatchObject({ unread: 4, mentions: 1 });

    // An edit can add or remove a mention (at the message's own seq).
    await owner.msgs.editMessage({ messageId: o1.id, text: `one @${ann.username}` });
    expect(await counts(ann, roomId)).toMatchObject({ unread: 4, mentions: 2 });
    await owner.msgs.editMessage({ messageId: o1.id, text: "one again" });
    expect(await counts(ann, roomId)).toMatchObject({ unread: 4, mentions: 1 });

    // Reading up to bob's message leaves the custom event unread.
    const r = await ann.msgs.markRead({ roomId, seq: b1.seq });
    expect(r.lastReadSeq).toBe(b1.seq);
    expect([r.unreadCount, r.mentionCount]).toEqual([1, 0]);
    const row = await env.prisma.membership.findUniqueOrThrow({
      where: { roomId_userId: { roomId, userId: ann.id } },
    });
    expect(row.lastReadSeq).toBe(b1.seq);

    // Never backwards.
    const back = await ann.msgs.markRead({ roomId, seq: o1.seq });
    expect(back.lastReadSeq).toBe(b1.seq);
    expect(back.unreadCount).toBe(1);

    // Beyond the room's last seq: InvalidArgument, marker unchanged.
    const last = await lastSeq(roomId);
    const err = await expectCode(
      ann.msgs.markRead({ roomId, seq: last + 1n }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["seq"]);
    expect((await counts(ann, roomId)).marker).toBe(b1.seq);

    const done = await ann.msgs.markRead({ roomId, seq: last });
    expect([done.lastReadSeq, done.unreadCount, done.mentionCount]).toEqual([last, 0, 0]);

    // ListMyRooms reports the same numbers.
    await send(bob, roomId, `again @${ann.username}`);
    const mine = await ann.rooms.listMyRooms({});
    const entry = mine.rooms.find((x) => x.room?.id === roomId);
    expect([entry?.unreadCount, entry?.mentionCount]).toEqual([1, 1]);
  });

  it("are computed for many rooms at once", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const rooms: bigint[] = [];
    for (let i = 0; i < 4; i++) rooms.push(await newRoom(owner, [ann]));
    for (const [i, roomId] of rooms.entries()) {
      await ann.msgs.markRead({ roomId, seq: await lastSeq(roomId) });
      for (let k = 0; k < i; k++) await send(owner, roomId, `@${ann.username} ${k}`);
      await send(owner, roomId, "plain");
    }
    const markers = await env.prisma.membership.findMany({
      where: { userId: ann.id, roomId: { in: rooms } },
      select: { roomId: true, lastReadSeq: true },
    });
    const got = await unreadCounts(env.prisma, ann.id, markers);
    expect(rooms.map((r) => got.get(r))).toEqual(
      rooms.map((_, i) => ({ unread: i + 1, mentions: i })),
    );
    // A room with nothing unread is present with zeros; no markers, no rooms.
    const zero = await unreadCounts(env.prisma, ann.id, [
      { roomId: rooms[0] ?? 0n, lastReadSeq: await lastSeq(rooms[0] ?? 0n) },
    ]);
    expect(zero.get(rooms[0] ?? 0n)).toEqual({ unread: 0, mentions: 0 });
    expect((await unreadCounts(env.prisma, ann.id, [])).size).toBe(0);
  });
});

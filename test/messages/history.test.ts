// EditMessage, DeleteMessage, reactions, GetMessage and ListMessages paging
// (latest/before/after/around) over a history with edits, tombstones,
// reactions and SYSTEM messages.
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { type Message, MessageKind } from "../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventAt, roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

let n = 0;
const cid = () => `h-${++n}`;

async function send(u: TestUser, roomId: bigint, text: string): Promise<Message> {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: cid() });
  if (!res.message) throw new Error("no message");
  return res.message;
}

describe("EditMessage", () => {
  it("replaces text and mentions at a new seq, keeping the message's seq", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const bob = await newUser(transport);
    const roomId = await newRoom(owner, [ann, bob]);
    const m = await send(owner, roomId, `hi @${ann.username}`);
    const res = await owner.msgs.editMessage({ messageId: m.id, text: `  now @${bob.username}  ` });
    expect(res.seq).toBe(m.seq + 1n);
    expect(res.message?.seq).toBe(m.seq);
    expect(res.message?.text).toBe(`now @${bob.username}`);
    expect(res.message?.editTime).toBeDefined();
    expect(res.message?.mentionIds).toEqual([bob.id]);
    const mentions = await env.prisma.mention.findMany({ where: { messageId: m.id } });
    expect(mentions.map((x) => [x.userId, x.seq])).toEqual([[bob.id, m.seq]]);
    const { event } = await eventAt(env, roomId, res.seq);
    expect(event.change.case).toBe("messageEdited");
    if (event.change.case === "messageEdited") {
      expect(event.change.value.messageId).toBe(m.id);
      expect(event.change.value.text).toBe(`now @${bob.username}`);
      expect(event.change.value.mentionIds).toEqual([bob.id]);
      expect(event.change.value.editTime).toBeDefined();
    }
    // Same text again: nothing changes, seq 0.
    const before = await roomSnapshot(env, roomId);
    const same = await owner.msgs.editMessage({ messageId: m.id, text: `now @${bob.username}` });
    expect(same.seq).toBe(0n);
    expect(same.message?.text).toBe(`now @${bob.username}`);
    expect(await roomSnapshot(env, roomId)).toEqual(before);
  });

  it("refuses others, non-text and deleted messages and bad text, writing nothing", async () => {
    const owner = await newUser(transport);
    const member = await newUser(transport);
    const roomId = await newRoom(owner, [member]);
    const mine = await send(member, roomId, "mine");
    const custom = await owner.msgs.sendCustomEvent({
      roomId,
      type: "x",
      body: { case: "json", value: "{}" },
      clientMsgId: cid(),
    });
    const gone = await send(member, roomId, "gone");
    await member.msgs.deleteMessage({ messageId: gone.id });
    const history = await owner.msgs.listMessages({
      roomId,
      anchor: { case: "afterSeq", value: 0n },
    });
    const system = history.messages.find((m) => m.kind === MessageKind.SYSTEM);
    expect(system).toBeDefined();
    const before = await roomSnapshot(env, roomId);
    await expectCode(
      owner.msgs.editMessage({ messageId: mine.id, text: "x" }),
      Code.PermissionDenied,
    );
    await expectCode(
      owner.msgs.editMessage({ messageId: custom.message?.id ?? 0n, text: "x" }),
      Code.FailedPrecondition,
    );
    await expectCode(
      owner.msgs.editMessage({ messageId: system?.id ?? 0n, text: "x" }),
      Code.PermissionDenied,
    );
    await expectCode(
      member.msgs.editMessage({ messageId: gone.id, text: "x" }),
      Code.FailedPrecondition,
    );
    await expectCode(
      member.msgs.editMessage({ messageId: 987_654_321n, text: "x" }),
      Code.NotFound,
    );
    const err = await expectCode(
      member.msgs.editMessage({ messageId: mine.id, text: " \n " }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["text"]);
    expect(await roomSnapshot(env, roomId)).toEqual(before);
    expect((await member.msgs.getMessage({ messageId: mine.id })).message?.text).toBe("mine");
  });
});

describe("DeleteMessage", () => {
  it("leaves a tombstone at the same seq; author and moderators only; twice gives seq 0", async () => {
    const owner = await newUser(transport);
    const admin = await newUser(transport);
    const member = await newUser(transport);
    const other = await newUser(transport);
    const roomId = await newRoom(owner, [admin, member, other]);
    await owner.rooms.setMemberRole({ roomId, userId: admin.id, role: MemberRole.ADMIN });
    const m = await send(member, roomId, `hello @${other.username}`);
    await other.msgs.addReaction({ messageId: m.id, emoji: "👍" });

    await expectCode(other.msgs.deleteMessage({ messageId: m.id }), Code.PermissionDenied);
    const res = await admin.msgs.deleteMessage({ messageId: m.id });
    expect(res.seq).toBeGreaterThan(m.seq);
    const t = res.message;
    expect(t?.deleted).toBe(true);
    expect(t?.seq).toBe(m.seq);
    expect(t?.text).toBe("");
    expect(t?.deletedBy).toBe(admin.id);
    expect(t?.deleteTime).toBeDefined();
    expect(t?.reactions).toEqual([]);
    expect(t?.mentionIds).toEqual([]);
    const row = await env.prisma.message.findUniqueOrThrow({ where: { id: m.id } });
    expect(row.text).toBe("");
    expect(row.payload).toBeNull();
    expect(await env.prisma.mention.count({ where: { messageId: m.id } })).toBe(0);
    expect(await env.prisma.reaction.count({ where: { messageId: m.id } })).toBe(0);
    const { event } = await eventAt(env, roomId, res.seq);
    expect(event.change.case).toBe("messageDeleted");
    if (event.change.case === "messageDeleted") {
      expect(event.change.value).toMatchObject({ messageId: m.id, deletedBy: admin.id });
    }

    const before = await roomSnapshot(env, roomId);
    const again = await member.msgs.deleteMessage({ messageId: m.id });
    expect(again.seq).toBe(0n);
    expect(again.message?.deleted).toBe(true);
    expect(await roomSnapshot(env, roomId)).toEqual(before);

    // Author deletes own; owner deletes a CUSTOM event (payload gone).
    const own = await send(member, roomId, "own");
    expect((await member.msgs.deleteMessage({ messageId: own.id })).message?.deletedBy).toBe(
      member.id,
    );
    const custom = await admin.msgs.sendCustomEvent({
      roomId,
      type: "poll",
      body: { case: "json", value: "[1,2]" },
      clientMsgId: cid(),
    });
    const deletedCustom = await owner.msgs.deleteMessage({ messageId: custom.message?.id ?? 0n });
    expect(deletedCustom.message?.custom).toBeUndefined();
    expect(deletedCustom.message?.kind).toBe(MessageKind.CUSTOM);
  });

  it("refuses SYSTEM messages and reactions on tombstones", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const history = await owner.msgs.listMessages({ roomId });
    const system = history.messages.find((m) => m.kind === MessageKind.SYSTEM);
    await expectCode(
      owner.msgs.deleteMessage({ messageId: system?.id ?? 0n }),
      Code.FailedPrecondition,
    );
    const m = await send(owner, roomId, "x");
    await owner.msgs.deleteMessage({ messageId: m.id });
    await expectCode(
      owner.msgs.addReaction({ messageId: m.id, emoji: "👍" }),
      Code.FailedPrecondition,
    );
    await expectCode(
      owner.msgs.removeReaction({ messageId: m.id, emoji: "👍" }),
      Code.FailedPrecondition,
    );
  });
});

describe("reactions", () => {
  it("counts per emoji in first-reaction order with `me`, once per user, with events", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const bob = await newUser(transport);
    const roomId = await newRoom(owner, [ann, bob]);
    const m = await send(owner, roomId, "react to me");

    const a1 = await ann.msgs.addReaction({ messageId: m.id, emoji: "🎉" });
    expect(a1.seq).toBeGreaterThan(0n);
    expect(a1.reactions.map((r) => [r.emoji, r.count, r.me])).toEqual([["🎉", 1, true]]);
    const { event } = await eventAt(env, roomId, a1.seq);
    expect(event.change.case).toBe("reactionAdded");
    if (event.change.case === "reactionAdded") {
      expect(event.change.value).toMatchObject({
        messageId: m.id,
        emoji: "🎉",
        userId: ann.id,
        count: 1,
      });
    }
    await bob.msgs.addReaction({ messageId: m.id, emoji: ":+1:" });
    const b2 = await bob.msgs.addReaction({ messageId: m.id, emoji: "🎉" });
    expect(b2.reactions.map((r) => [r.emoji, r.count, r.me])).toEqual([
      ["🎉", 2, true],
      [":+1:", 1, true],
    ]);
    // Adding again changes nothing.
    const before = await roomSnapshot(env, roomId);
    const dup = await ann.msgs.addReaction({ messageId: m.id, emoji: "🎉" });
    expect(dup.seq).toBe(0n);
    expect(await roomSnapshot(env, roomId)).toEqual(before);
    // Emoji differing only by variation selector / case are different reactions.
    await ann.msgs.addReaction({ messageId: m.id, emoji: "❤" });
    await ann.msgs.addReaction({ messageId: m.id, emoji: "❤️" });
    await ann.msgs.addReaction({ messageId: m.id, emoji: ":A:" });
    await ann.msgs.addReaction({ messageId: m.id, emoji: ":a:" });

    const seenByOwner = (await owner.msgs.getMessage({ messageId: m.id })).message?.reactions;
    expect(seenByOwner?.map((r) => [r.emoji, r.count, r.me])).toEqual([
      ["🎉", 2, false],
      [":+1:", 1, false],
      ["❤", 1, false],
      ["❤️", 1, false],
      [":A:", 1, false],
      [":a:", 1, false],
    ]);

    const removed = await bob.msgs.removeReaction({ messageId: m.id, emoji: "🎉" });
    expect(removed.seq).toBeGreaterThan(0n);
    expect(removed.reactions.find((r) => r.emoji === "🎉")).toMatchObject({ count: 1, me: false });
    const { event: rEvent } = await eventAt(env, roomId, removed.seq);
    expect(rEvent.change.case).toBe("reactionRemoved");
    if (rEvent.change.case === "reactionRemoved") {
      expect(rEvent.change.value).toMatchObject({ emoji: "🎉", userId: bob.id, count: 1 });
    }
    const none = await bob.msgs.removeReaction({ messageId: m.id, emoji: "🎉" });
    expect(none.seq).toBe(0n);

    for (const emoji of ["", "a b", "x".repeat(33)]) {
      await expectCode(ann.msgs.addReaction({ messageId: m.id, emoji }), Code.InvalidArgument);
    }
  });
});

describe("ListMessages", () => {
  let owner: TestUser;
  let reader: TestUser;
  let roomId: bigint;
  /** Every message of the room, ascending, as the test expects it now. */
  let all: { id: bigint; seq: bigint; text: string; deleted: boolean; reactions: number }[];

  beforeAll(async () => {
    owner = await newUser(transport);
    const member = await newUser(transport);
    reader = await newUser(transport); // not a member: public rooms are readable
    roomId = await newRoom(owner, [member]);
    const sent: Message[] = [];
    for (let i = 0; i < 41; i++) {
      const u = i % 3 === 0 ? member : owner;
      sent.push(await send(u, roomId, `msg ${i}`));
      // Non-message changes between messages leave gaps in message seqs.
      if (i % 5 === 0)
        await member.msgs.addReaction({ messageId: sent[i]?.id ?? 0n, emoji: `r${i}` });
    }
    const byIndex = (i: number) => sent[i] as Message;
    await owner.msgs.editMessage({ messageId: byIndex(4).id, text: "msg 4 edited" });
    await member.msgs.deleteMessage({ messageId: byIndex(9).id });
    await owner.msgs.deleteMessage({ messageId: byIndex(10).id });
    const listed = await env.prisma.message.findMany({
      where: { roomId },
      orderBy: { seq: "asc" },
      select: { id: true, seq: true, text: true, deletedAt: true },
    });
    const reactionCounts = await env.prisma.reaction.groupBy({
      by: ["messageId"],
      where: { roomId },
      _count: { _all: true },
    });
    const rc = new Map(reactionCounts.map((r) => [r.messageId, r._count._all]));
    all = listed.map((r) => ({
      id: r.id,
      seq: r.seq,
      text: r.text,
      deleted: r.deletedAt !== null,
      reactions: rc.get(r.id) ?? 0,
    }));
    expect(all.length).toBe(42); // room_created + 41
  });

  const summary = (ms: Message[]) =>
    ms.map((m) => ({
      id: m.id,
      seq: m.seq,
      text: m.text,
      deleted: m.deleted,
      reactions: m.reactions.length,
    }));

  function expectAscending(ms: Message[]) {
    for (let i = 1; i < ms.length; i++) {
      expect((ms[i] as Message).seq).toBeGreaterThan((ms[i - 1] as Message).seq);
    }
  }

  it("pages backward from the latest, covering everything once", async () => {
    const got: Message[] = [];
    let page = await reader.msgs.listMessages({ roomId, limit: 7 });
    const room = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
    expect(page.lastSeq).toBe(room.lastSeq);
    expect(page.hasMoreAfter).toBe(false);
    for (;;) {
      expectAscending(page.messages);
      got.unshift(...page.messages);
      if (!page.hasMoreBefore) break;
      expect(page.messages).toHaveLength(7);
      page = await reader.msgs.listMessages({
        roomId,
        limit: 7,
        anchor: { case: "beforeSeq", value: page.messages[0]?.seq ?? 0n },
      });
      expect(page.hasMoreAfter).toBe(true);
    }
    expect(summary(got)).toEqual(all);
  });

  it("pages forward from the start, covering everything once", async () => {
    const got: Message[] = [];
    let after = 0n;
    let first = true;
    for (;;) {
      const page = await reader.msgs.listMessages({
        roomId,
        limit: 10,
        anchor: { case: "afterSeq", value: after },
      });
      expectAscending(page.messages);
      expect(page.hasMoreBefore).toBe(!first);
      first = false;
      got.push(...page.messages);
      if (!page.hasMoreAfter) break;
      after = page.messages.at(-1)?.seq ?? 0n;
    }
    expect(summary(got)).toEqual(all);
  });

  it("pages around a message both ways, covering everything once", async () => {
    const mid = all[20];
    if (!mid) throw new Error("no middle");
    const page = await reader.msgs.listMessages({
      roomId,
      limit: 9,
      anchor: { case: "aroundSeq", value: mid.seq },
    });
    expectAscending(page.messages);
    expect(page.messages).toHaveLength(9);
    const at = page.messages.findIndex((m) => m.seq === mid.seq);
    expect(at).toBe(4); // 4 before, the anchor, 4 after
    expect(page.hasMoreBefore && page.hasMoreAfter).toBe(true);
    const got = [...page.messages];
    let before = page;
    while (before.hasMoreBefore) {
      before = await reader.msgs.listMessages({
        roomId,
        limit: 9,
        anchor: { case: "beforeSeq", value: got[0]?.seq ?? 0n },
      });
      got.unshift(...before.messages);
    }
    let after = page;
    while (after.hasMoreAfter) {
      after = await reader.msgs.listMessages({
        roomId,
        limit: 9,
        anchor: { case: "afterSeq", value: got.at(-1)?.seq ?? 0n },
      });
      got.push(...after.messages);
    }
    expect(summary(got)).toEqual(all);

    // Near an end the other side fills the page; a seq without a message works too.
    const start = await reader.msgs.listMessages({
      roomId,
      limit: 9,
      anchor: { case: "aroundSeq", value: 1n },
    });
    expect(summary(start.messages)).toEqual(all.slice(0, 9));
    expect(start.hasMoreBefore).toBe(false);
    const gapSeq = (all[1]?.seq ?? 0n) + 1n; // the first reaction's seq: no message
    expect(all.some((m) => m.seq === gapSeq)).toBe(false);
    const gap = await reader.msgs.listMessages({
      roomId,
      limit: 4,
      anchor: { case: "aroundSeq", value: gapSeq },
    });
    expect(summary(gap.messages)).toEqual(all.slice(0, 4));
  });

  it("shows edits, tombstones and reactions, and the default and maximum limits", async () => {
    const page = await reader.msgs.listMessages({ roomId, limit: 200 });
    expect(page.messages).toHaveLength(42);
    expect(page.hasMoreBefore).toBe(false);
    const edited = page.messages.find((m) => m.text === "msg 4 edited");
    expect(edited?.editTime).toBeDefined();
    const tombstones = page.messages.filter((m) => m.deleted);
    expect(tombstones).toHaveLength(2);
    expect(tombstones.every((m) => m.text === "" && m.reactions.length === 0)).toBe(true);
    expect(page.messages[0]?.kind).toBe(MessageKind.SYSTEM);
    expect(page.messages[0]?.system?.notice.case).toBe("roomCreated");
    expect(page.messages.filter((m) => m.reactions.length > 0).length).toBe(
      all.filter((m) => m.reactions > 0).length,
    );
    const dflt = await reader.msgs.listMessages({ roomId });
    expect(dflt.messages).toHaveLength(42);
    const small = await reader.msgs.listMessages({ roomId, limit: 1 });
    expect(small.messages.map((m) => m.id)).toEqual([all.at(-1)?.id]);
    for (const limit of [-1, 201]) {
      const err = await expectCode(
        reader.msgs.listMessages({ roomId, limit }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual(["limit"]);
    }
    await expectCode(reader.msgs.listMessages({ roomId: 987_654_321n }), Code.NotFound);
    // Before the first / after the last: empty pages with the right flags.
    const none = await reader.msgs.listMessages({
      roomId,
      anchor: { case: "beforeSeq", value: 1n },
    });
    expect(none.messages).toEqual([]);
    expect(none.hasMoreAfter).toBe(true);
    const end = await reader.msgs.listMessages({
      roomId,
      anchor: { case: "afterSeq", value: page.lastSeq },
    });
    expect(end.messages).toEqual([]);
    expect(end.hasMoreBefore).toBe(true);
    expect(end.hasMoreAfter).toBe(false);
  });

  it("GetMessage returns the current state; unknown ids are NotFound", async () => {
    const target = all[5];
    const got = await reader.msgs.getMessage({ messageId: target?.id ?? 0n });
    expect(got.message?.seq).toBe(target?.seq);
    await expectCode(reader.msgs.getMessage({ messageId: 987_654_321n }), Code.NotFound);
  });
});

/**
 * Threads: replies are messages of the room on its one sequence (history,
 * feeds and resume carry them), the root shows its summary, replies page by
 * sequence, participants follow, each follower has a read marker with
 * unread and mention counts, and followed threads list unread first.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { ThreadService } from "../../gen/chat/v1/thread_pb.js";
import { authed } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { FeedReader, roomEvents } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { expectDense } from "../support/rows.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env, a } = setupTestEnv();
const threadsOf = (u: TestUser) => authed(ThreadService, a, u.token);

let n = 0;
async function reply(user: TestUser, roomId: bigint, rootId: bigint, text: string) {
  const res = await user.msgs.sendMessage({
    roomId,
    text,
    clientMsgId: `t${++n}_${Date.now()}`,
    threadRootId: rootId,
  });
  if (!res.message) throw new Error("no message");
  return res.message;
}

async function rootMessage(user: TestUser, roomId: bigint, text: string) {
  const res = await user.msgs.sendMessage({ roomId, text, clientMsgId: `r${++n}_${Date.now()}` });
  if (!res.message) throw new Error("no message");
  return res.message;
}

describe("threads", () => {
  it("keeps replies on the room's sequence and summarizes them on the root", async () => {
    const alice = await newUser(a, "th");
    const bob = await newUser(a, "th");
    const carol = await newUser(a, "th");
    const room = await newRoom(alice, [bob, carol], Visibility.PRIVATE);
    const root = await rootMessage(alice, room, "shall we?");
    const r1 = await reply(bob, room, root.id, "yes");
    await send(alice, room, "meanwhile in the main conversation");
    const r2 = await reply(carol, room, root.id, `agreed @${alice.username}`);
    const r3 = await reply(bob, room, root.id, "when?");
    expect(r1.threadRootId).toBe(root.id);
    expect(r2.seq).toBeGreaterThan(r1.seq + 1n);
    await expectDense(env, room);

    const seen = await carol.msgs.getMessage({ messageId: root.id });
    expect(seen.message?.thread?.replyCount).toBe(3);
    expect(seen.message?.thread?.lastReplySeq).toBe(r3.seq);
    expect(seen.message?.thread?.participantIds).toEqual([alice.id, bob.id, carol.id]);

    const first = await threadsOf(carol).listThreadMessages({ rootMessageId: root.id, limit: 2 });
    expect(first.root?.id).toBe(root.id);
    expect(first.replies.map((m) => m.id)).toEqual([r1.id, r2.id]);
    expect(first.hasMore).toBe(true);
    const rest = await threadsOf(carol).listThreadMessages({
      rootMessageId: root.id,
      afterSeq: first.replies.at(-1)?.seq ?? 0n,
    });
    expect(rest.replies.map((m) => m.id)).toEqual([r3.id]);
    expect(rest.hasMore).toBe(false);

    // A resume from before the thread replays the replies, marked as such.
    const feed = FeedReader.open(bob.feed, { positions: [{ roomId: room, lastSeq: root.seq }] });
    const events = roomEvents(
      await feed.until((ev) => ev.case === "roomEvent" && ev.value.seq === r3.seq),
    );
    feed.close();
    const replies = events.flatMap((e) =>
      e.change.case === "messageCreated" && e.change.value.message?.threadRootId === root.id
        ? [e.seq]
        : [],
    );
    expect(replies).toEqual([r1.seq, r2.seq, r3.seq]);
  });

  it("keeps a read marker per follower with unread and mention counts, unread threads first", async () => {
    const alice = await newUser(a, "th");
    const bob = await newUser(a, "th");
    const room = await newRoom(alice, [bob]);
    const quiet = await rootMessage(alice, room, "first thread");
    const busy = await rootMessage(alice, room, "second thread");
    await reply(bob, room, quiet.id, "read me");
    const q = await threadsOf(alice).markThreadRead({ rootMessageId: quiet.id, seq: 1_000_000n });
    expect(q.thread?.unreadCount).toBe(0);
    await reply(bob, room, busy.id, "one");
    const last = await reply(bob, room, busy.id, `two @${alice.username}`);

    // Alice follows both as their author; the busy one is unread and comes first.
    const list = await threadsOf(alice).listFollowedThreads({});
    expect(list.threads.map((t) => t.root?.id)).toEqual([busy.id, quiet.id]);
    expect([list.threads[0]?.unreadCount, list.threads[0]?.mentionCount]).toEqual([2, 1]);
    // Bob follows as a participant and has read his own replies.
    const bobs = await threadsOf(bob).listFollowedThreads({});
    expect(bobs.threads.map((t) => [t.root?.id, t.unreadCount])).toEqual([
      [busy.id, 0],
      [quiet.id, 0],
    ]);

    const read = await threadsOf(alice).markThreadRead({ rootMessageId: busy.id, seq: last.seq });
    expect([read.thread?.unreadCount, read.thread?.mentionCount]).toEqual([0, 0]);
    // Never back.
    const back = await threadsOf(alice).markThreadRead({ rootMessageId: busy.id, seq: 1n });
    expect(back.thread?.lastReadSeq).toBe(last.seq);

    // Unfollowed, it leaves the list; a reply of one's own follows it again.
    expect((await threadsOf(bob).listThreadMessages({ rootMessageId: quiet.id })).following).toBe(
      true,
    );
    await threadsOf(bob).setThreadFollowing({ rootMessageId: quiet.id, following: false });
    expect((await threadsOf(bob).listFollowedThreads({})).threads.map((t) => t.root?.id)).toEqual([
      busy.id,
    ]);
    // Reading it (a panel left open) moves the marker but does not follow it again.
    await reply(alice, room, quiet.id, "still there?");
    const reread = await threadsOf(bob).markThreadRead({
      rootMessageId: quiet.id,
      seq: 1_000_000n,
    });
    expect([reread.thread?.following, reread.thread?.unreadCount]).toEqual([false, 0]);
    expect((await threadsOf(bob).listThreadMessages({ rootMessageId: quiet.id })).following).toBe(
      false,
    );
    expect((await threadsOf(bob).listFollowedThreads({})).threads).toHaveLength(1);
    await reply(bob, room, quiet.id, "back");
    expect((await threadsOf(bob).listFollowedThreads({})).threads).toHaveLength(2);
  });

  it("refuses replies to replies, to other rooms, and hides private threads", async () => {
    const alice = await newUser(a, "th");
    const eve = await newUser(a, "th");
    const room = await newRoom(alice, [], Visibility.PRIVATE);
    const other = await newRoom(alice, []);
    const root = await rootMessage(alice, room, "secret");
    const r = await reply(alice, room, root.id, "mine");
    await expectCode(reply(alice, room, r.id, "nested"), Code.InvalidArgument);
    await expectCode(reply(alice, other, root.id, "elsewhere"), Code.InvalidArgument);
    await expectCode(threadsOf(eve).listThreadMessages({ rootMessageId: root.id }), Code.NotFound);
    await expectCode(
      threadsOf(eve).markThreadRead({ rootMessageId: root.id, seq: 1n }),
      Code.NotFound,
    );
    await expectCode(threadsOf(alice).listThreadMessages({ rootMessageId: r.id }), Code.NotFound);
  });
});

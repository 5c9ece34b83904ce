// @vitest-environment happy-dom
/**
 * Following a thread in the app, against the fake server with a
 * ThreadService added: a followed thread's unread badge shows on its root
 * and on the Threads button, opening the thread reads it, the panel's
 * toggle unfollows (new replies then leave no badge) and follows again
 * (the next reply shows one).
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type Message,
  type SetThreadFollowingRequest,
  ThreadService,
  ThreadStateSchema,
  ThreadSummarySchema,
} from "@protochat/sdk";
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeChat, myRoom, t0, textMessage } from "../../test/fake-server.js";
import { App } from "../App.js";
import { byText, click, renderNode, unmountAll, until } from "../markdown/render-test-util.js";

const room = 10n;
let fake: FakeChat;
let follow: { following: boolean; lastReadSeq: bigint } | undefined;
let toggles: SetThreadFollowingRequest[];
let followedLists: number;

/** The fake's messages of the room. */
function messages(): Message[] {
  return fake.history.get(room) ?? [];
}
const root = () => messages()[0] as Message;
const replies = () => messages().filter((m) => m.threadRootId === root().id);

beforeEach(() => {
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
  follow = undefined;
  toggles = [];
  followedLists = 0;
  const base = fake.routes;
  fake.routes = (router: ConnectRouter) => {
    base(router);
    const state = () =>
      create(ThreadStateSchema, {
        root: root(),
        lastReadSeq: follow?.lastReadSeq ?? 0n,
        unreadCount: replies().filter((m) => m.seq > (follow?.lastReadSeq ?? 0n)).length,
        following: follow?.following ?? false,
      });
    router.service(ThreadService, {
      listThreadMessages: () => ({
        root: root(),
        replies: replies(),
        hasMore: false,
        following: follow?.following ?? false,
      }),
      listFollowedThreads: () => {
        followedLists++;
        return { threads: follow?.following ? [state()] : [] };
      },
      markThreadRead: (req) => {
        // As the server does: a first read follows, an unfollowed thread stays so.
        follow = {
          following: follow?.following ?? true,
          lastReadSeq:
            req.seq > (follow?.lastReadSeq ?? 0n) ? req.seq : (follow?.lastReadSeq ?? 0n),
        };
        return { thread: state() };
      },
      setThreadFollowing: (req) => {
        toggles.push(req);
        follow = { following: req.following, lastReadSeq: follow?.lastReadSeq ?? 0n };
        return {};
      },
    });
  };
});

afterEach(unmountAll);

/** A reply by Bob arriving on the feed (and in the fake's history). */
async function bobReplies(seq: bigint, text: string): Promise<void> {
  const message = textMessage(room, seq, 2n, text, { threadRootId: root().id });
  fake.history.get(room)?.push(message);
  const r = fake.rooms[0]?.room;
  if (r) r.lastSeq = seq;
  await act(async () =>
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: room,
          seq,
          actorId: 2n,
          time: { seconds: BigInt(t0 / 1000) + seq * 60n, nanos: 0 },
          change: { case: "messageCreated", value: { message } },
        },
      },
    }),
  );
}

describe("following a thread", () => {
  it("shows unread badges while followed, none once unfollowed, again when followed", {
    timeout: 60_000,
  }, async () => {
    const alice = fake.addUser("alice", "correct horse battery", "Alice");
    fake.addUser("bob", "correct horse battery", "Bob");
    sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
    const first = textMessage(room, 1n, alice.id, "lunch?", {
      thread: create(ThreadSummarySchema, { replyCount: 1, lastReplySeq: 2n }),
    });
    fake.rooms = [myRoom(room, "general", 2n)];
    fake.history.set(room, [first, textMessage(room, 2n, 2n, "yes", { threadRootId: first.id })]);
    follow = { following: true, lastReadSeq: 0n };
    location.hash = `#/room/${room}`;
    const app = renderNode(<App makeTransport={(hooks) => fake.transport(hooks)} />);
    await fake.feedOpen();

    // Followed with one unread reply: a badge on the root and on the Threads button.
    const summary = await until(() =>
      app.querySelector<HTMLElement>("[data-testid=thread-summary]"),
    );
    await until(
      () => summary.querySelector("[data-testid=thread-unread]")?.textContent === "1 new",
    );
    await until(() =>
      app.querySelector("[data-testid=threads-button] .thread-unread")?.textContent?.includes("1"),
    );
    // The reply stays out of the main conversation.
    expect(byText(app, ".conversation [data-testid=message-text] p", "yes")).toBeUndefined();

    // Opening it reads it; the panel says Following.
    await click(summary);
    const panel = await until(() => app.querySelector<HTMLElement>("[data-testid=thread-panel]"));
    await until(() => byText(panel, "[data-testid=message-text] p", "yes"));
    const toggle = await until(() =>
      panel.querySelector<HTMLButtonElement>("[data-testid=thread-follow]"),
    );
    expect([toggle.textContent, toggle.getAttribute("aria-pressed")]).toEqual([
      "Following",
      "true",
    ]);
    await until(() => follow?.lastReadSeq === 2n);

    // Unfollow; close the panel; a new reply leaves no badge (the list was fetched again).
    await click(toggle);
    await until(
      () => toggle.textContent === "Follow" && toggle.getAttribute("aria-pressed") === "false",
    );
    expect(toggles.map((t) => [t.rootMessageId, t.following])).toEqual([[first.id, false]]);
    await click(await until(() => panel.querySelector<HTMLElement>("[aria-label='Close thread']")));
    const listsBefore = followedLists;
    await bobReplies(3n, "anyone?");
    await until(
      () => summary.querySelector("[data-testid=reply-count]")?.textContent === "2 replies",
    );
    await until(() => followedLists > listsBefore);
    // The Threads menu shows the list the badges come from: empty.
    const threadsButton = app.querySelector<HTMLElement>("[data-testid=threads-button]");
    if (!threadsButton) throw new Error("no Threads button");
    await click(threadsButton);
    await until(() => byText(app, ".threads-menu li", "No followed threads in this room."));
    await click(threadsButton);
    expect(summary.querySelector("[data-testid=thread-unread]")).toBeNull();
    expect(threadsButton.querySelector(".thread-unread")).toBeNull();

    // Follow again from the panel (which reads it up to the newest reply and keeps it unfollowed
    // until the toggle); the next reply shows a badge again.
    await click(summary);
    const again = await until(() =>
      app.querySelector<HTMLButtonElement>(
        "[data-testid=thread-panel] [data-testid=thread-follow]",
      ),
    );
    await until(() => follow?.lastReadSeq === 3n);
    expect(again.textContent).toBe("Follow");
    await click(again);
    await until(() => again.textContent === "Following");
    expect(toggles.at(-1)?.following).toBe(true);
    await click(
      await until(() =>
        app.querySelector<HTMLElement>("[data-testid=thread-panel] [aria-label='Close thread']"),
      ),
    );
    await bobReplies(4n, "pizza");
    await until(
      () => summary.querySelector("[data-testid=thread-unread]")?.textContent === "1 new",
    );
    await until(() =>
      app.querySelector("[data-testid=threads-button] .thread-unread")?.textContent?.includes("1"),
    );
  });
});

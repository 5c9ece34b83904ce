/**
 * The feed over the bidirectional Chat stream: the same resumption as over
 * Subscribe, plus commands answered on the stream, waiting for a live
 * stream, and sends retried with one clientMsgId across a reconnect.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type ChatFeed, createChatClientFromTransport, type FeedItem } from "../src/index.js";
import { FakeChat } from "./fake-chat.js";

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("timed out");
}

function setup() {
  const fake = new FakeChat();
  const token = fake.login(1n);
  fake.addRoom(10n, [1n, 2n], 2);
  const client = createChatClientFromTransport({
    transport: fake.transport(),
    token,
    retry: { backoff: { baseMs: 5, capMs: 20 } },
  });
  const feed = client.chat({ backoff: { baseMs: 5, capMs: 20 } });
  const items: FeedItem[] = [];
  const done = (async () => {
    try {
      for await (const item of feed) items.push(item);
    } catch (err) {
      return ConnectError.from(err);
    }
  })();
  return { fake, feed, items, done };
}

const seqs = (items: FeedItem[]) =>
  items.flatMap((i) => (i.case === "roomEvent" ? [i.value.seq] : []));

let feed: ChatFeed | undefined;
afterEach(() => feed?.close());

describe("chat feed", () => {
  it("subscribes on the stream, answers commands on it, and resumes after a drop", async () => {
    const t = setup();
    feed = t.feed;
    await t.fake.feedsOpened(1);
    const res = await t.feed.send(10n, "over the stream");
    expect(res.message?.seq).toBe(3n);
    await until(() => seqs(t.items).length === 1);
    await t.feed.setTyping(10n, true);
    await t.feed.ping();
    t.fake.drop(Code.Unavailable);
    t.fake.post(10n, 2n, "while away");
    await t.fake.feedsOpened(2);
    await until(() => seqs(t.items).length === 2);
    expect(seqs(t.items)).toEqual([3n, 4n]);
    expect(t.fake.subscribes).toEqual([[], [{ roomId: 10n, lastSeq: 3n }]]);
  });

  it("keeps a send whose answer was lost and retries it after the reconnect, stored once", async () => {
    const t = setup();
    feed = t.feed;
    await t.fake.feedsOpened(1);
    // Stored, then the stream dies before the ack.
    t.fake.sendAfter = async (_req, attempt) => {
      if (attempt > 0) return;
      t.fake.drop(Code.Unavailable);
      await new Promise((r) => setTimeout(r, 20)); // the stream is gone: no answer
      throw new ConnectError("lost", Code.Unavailable);
    };
    const res = await t.feed.send(10n, "once");
    expect(res.duplicate).toBe(true);
    expect(t.fake.sends).toHaveLength(2);
    expect(t.fake.sends[0]?.clientMsgId).toBe(t.fake.sends[1]?.clientMsgId);
    expect(t.fake.rooms.get(10n)?.messages.filter((m) => m.text === "once")).toHaveLength(1);
    await until(() => seqs(t.items).length === 1);
  });

  it("answers a failed command with its error and keeps the stream", async () => {
    const t = setup();
    feed = t.feed;
    await t.fake.feedsOpened(1);
    await expect(t.feed.send(99n, "nowhere")).rejects.toMatchObject({ code: Code.NotFound });
    await t.feed.ping();
    expect(t.fake.subscribes).toHaveLength(1);
  });

  it("fails a command that finds no live stream in time with UNAVAILABLE", async () => {
    const fake = new FakeChat();
    const client = createChatClientFromTransport({ transport: fake.transport(), token: "x" });
    const f = client.chat();
    await expect(f.ping({ timeoutMs: 50 })).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("lets the loop body await commands (answers are read by their own task)", async () => {
    const t0 = new FakeChat();
    const token = t0.login(1n);
    t0.addRoom(10n, [1n, 2n], 0);
    const client = createChatClientFromTransport({ transport: t0.transport(), token });
    const f = client.chat();
    feed = f;
    const answered: bigint[] = [];
    for await (const item of f) {
      if (item.case === "ready") t0.post(10n, 2n, "!ping");
      if (item.case === "roomEvent" && item.value.actorId === 2n) {
        const res = await f.send(10n, "pong", { replyToId: item.value.seq });
        answered.push(res.message?.seq ?? 0n);
      }
      if (item.case === "roomEvent" && item.value.actorId === 1n) break;
    }
    expect(answered).toEqual([2n]);
  });
});

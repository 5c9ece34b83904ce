// SearchMessages' has_attachment and in_thread filters: real uploads attached
// by sends and real thread replies, each filter alone and combined with room,
// sender, time and order, and the authorization of search unchanged by them.
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { SearchOrder, SearchService } from "../../gen/chat/v1/search_pb.js";
import { LocalStorage } from "../../server/platform/storage/local-storage.js";
import { uploadFile } from "../files/upload-kit.js";
import { authed } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const dir = join(tmpdir(), `protochat-search-filters-${randomBytes(4).toString("hex")}`);
const storage = new LocalStorage(dir);
const files = { maxFileBytes: 1024 * 1024, maxUserBytes: 4 * 1024 * 1024, maxImagePixels: 4e6 };
const { server, a } = setupTestEnv({ deps: { storage, files }, server: true });
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function post(
  u: TestUser,
  roomId: bigint,
  text: string,
  more: { attach?: boolean; threadRootId?: bigint } = {},
) {
  const attachmentIds: bigint[] = [];
  if (more.attach) {
    const up = await uploadFile(server.url, u, a, `f${n}.txt`, Buffer.from(`file ${n}\n`));
    if (up.status !== 200) throw new Error(`upload: ${up.status} ${up.text}`);
    attachmentIds.push(up.id);
  }
  const res = await u.msgs.sendMessage({
    roomId,
    text,
    clientMsgId: `sf-${++n}`,
    attachmentIds,
    ...(more.threadRootId !== undefined && { threadRootId: more.threadRootId }),
  });
  if (!res.message) throw new Error("no message");
  return res.message;
}

const searchOf = (u: TestUser) => authed(SearchService, a, u.token);

describe("SearchMessages filters has_attachment and in_thread", () => {
  it("selects by attachment and by thread, alone and combined with the other filters", async () => {
    const alice = await newUser(a, "sf");
    const bob = await newUser(a, "sf");
    const r1 = await newRoom(alice, [bob]);
    const r2 = await newRoom(alice, [bob]);
    const plain = await post(alice, r1, "budget 预算 plain");
    const withFile = await post(alice, r1, "budget 预算 with file", { attach: true });
    const reply = await post(bob, r1, "budget 预算 in thread", { threadRootId: plain.id });
    const replyFile = await post(bob, r1, "budget 预算 thread file", {
      attach: true,
      threadRootId: plain.id,
    });
    const other = await post(bob, r2, "budget 预算 other room file", { attach: true });
    expect(withFile.attachments).toHaveLength(1);
    expect(reply.threadRootId).toBe(plain.id);

    const s = searchOf(alice);
    const ids = async (query: string, more: Parameters<typeof s.searchMessages>[0] = {}) =>
      (await s.searchMessages({ query, order: SearchOrder.DATE, ...more })).hits.map(
        (h) => h.message?.id,
      );
    for (const q of ["budget", "预算"]) {
      expect(await ids(q)).toEqual([other.id, replyFile.id, reply.id, withFile.id, plain.id]);
      expect(await ids(q, { hasAttachment: true })).toEqual([other.id, replyFile.id, withFile.id]);
      expect(await ids(q, { hasAttachment: false })).toEqual([reply.id, plain.id]);
      // The root (plain) has replies but is not itself in the thread.
      expect(await ids(q, { inThread: true })).toEqual([replyFile.id, reply.id]);
      expect(await ids(q, { inThread: false })).toEqual([other.id, withFile.id, plain.id]);
      expect(await ids(q, { hasAttachment: true, inThread: true })).toEqual([replyFile.id]);
      expect(await ids(q, { hasAttachment: false, inThread: false })).toEqual([plain.id]);
      // With room, sender, time and relevance order.
      expect(await ids(q, { hasAttachment: true, roomId: r1 })).toEqual([
        replyFile.id,
        withFile.id,
      ]);
      expect(await ids(q, { hasAttachment: true, senderId: bob.id })).toEqual([
        other.id,
        replyFile.id,
      ]);
      expect(await ids(q, { inThread: true, senderId: alice.id })).toEqual([]);
      expect(await ids(q, { inThread: false, roomId: r2 })).toEqual([other.id]);
      const later = timestampFromDate(new Date(Date.now() + 60_000));
      expect(await ids(q, { hasAttachment: true, afterTime: later })).toEqual([]);
      expect(await ids(q, { hasAttachment: true, beforeTime: later })).toHaveLength(3);
      const rel = await s.searchMessages({
        query: q,
        order: SearchOrder.RELEVANCE,
        hasAttachment: true,
        inThread: false,
      });
      expect(rel.hits.map((h) => h.message?.id).sort()).toEqual([other.id, withFile.id].sort());
    }
    // Pages of a filtered search cover exactly the filtered hits.
    const seen: bigint[] = [];
    let pageToken = "";
    do {
      const page = await s.searchMessages({
        query: "budget",
        hasAttachment: true,
        order: SearchOrder.DATE,
        pageSize: 1,
        pageToken,
      });
      seen.push(...page.hits.map((h) => h.message?.id ?? 0n));
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && seen.length < 10);
    expect(seen).toEqual([other.id, replyFile.id, withFile.id]);
  });

  it("never widens what a caller may read", async () => {
    const owner = await newUser(a, "sf");
    const bob = await newUser(a, "sf");
    const eve = await newUser(a, "sf");
    const priv = await newRoom(owner, [bob], Visibility.PRIVATE);
    const root = await post(owner, priv, "invoice 发票 root");
    await post(owner, priv, "invoice 发票 attached", { attach: true });
    await post(bob, priv, "invoice 发票 reply", { threadRootId: root.id });
    const e = searchOf(eve);
    for (const f of [
      { hasAttachment: true },
      { hasAttachment: false },
      { inThread: true },
      { inThread: false },
    ]) {
      expect((await e.searchMessages({ query: "invoice", ...f })).hits).toEqual([]);
      expect((await e.searchMessages({ query: "发票", ...f })).hits).toEqual([]);
      await expectCode(e.searchMessages({ query: "invoice", roomId: priv, ...f }), Code.NotFound);
    }
    const b = searchOf(bob);
    expect((await b.searchMessages({ query: "发票", inThread: true })).hits).toHaveLength(1);
    await bob.rooms.leaveRoom({ roomId: priv });
    expect((await b.searchMessages({ query: "发票", inThread: true })).hits).toEqual([]);
    expect((await b.searchMessages({ query: "发票", hasAttachment: true })).hits).toEqual([]);
    await expectCode(
      b.searchMessages({ query: "invoice", roomId: priv, hasAttachment: true }),
      Code.NotFound,
    );
  });
});

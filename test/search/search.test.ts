// SearchMessages: Chinese, Japanese and English matching, filters, orders,
// pages, snippets, edits and deletions reflected at once, and authorization
// (never a room the caller cannot read now, also after leaving or a ban).
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type Transport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { SearchOrder, SearchService } from "../../gen/chat/v1/search_pb.js";
import { authed } from "../support/clients.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { transport } = setupTestEnv();

let n = 0;
async function post(u: TestUser, roomId: bigint, text: string) {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: `s-${++n}` });
  if (!res.message) throw new Error("no message");
  return res.message;
}

/** Everything of a request but the query. */
interface Filters {
  roomId?: bigint;
  senderId?: bigint;
  afterTime?: Timestamp;
  beforeTime?: Timestamp;
  hasAttachment?: boolean;
  inThread?: boolean;
  order?: SearchOrder;
  pageSize?: number;
  pageToken?: string;
}

function searcher(u: TestUser, t: Transport = transport) {
  const client = authed(SearchService, t, u.token);
  const search = (query: string, more: Filters = {}) => client.searchMessages({ query, ...more });
  /** Texts of the hits, in order. */
  const texts = async (query: string, more: Filters = {}) =>
    (await search(query, more)).hits.map((h) => h.message?.text);
  return { client, search, texts };
}

describe("SearchMessages", () => {
  it("finds Chinese and Japanese by any substring of two or more characters, only where it is", async () => {
    const alice = await newUser(transport);
    const room = await newRoom(alice);
    const fine = await post(alice, room, "今天天气很好，我们去公园吧");
    await post(alice, room, "天 气 很 分开写的字"); // the characters, never side by side
    await post(alice, room, "气很天 倒过来"); // bigram 气很 without 天气很
    await post(alice, room, "東京の天気はどうですか");
    const s = searcher(alice);
    const hits = (await s.search("天气")).hits;
    expect(hits.map((h) => h.message?.id)).toEqual([fine.id]);
    const hit = hits[0];
    expect(hit?.message?.roomId).toBe(room);
    expect(hit?.message?.seq).toBe(fine.seq);
    const chars = [...(hit?.snippet ?? "")];
    expect(hit?.highlights.map((r) => chars.slice(r.start, r.end).join(""))).toEqual(["天气"]);
    expect(await s.texts("天气很好")).toEqual(["今天天气很好，我们去公园吧"]);
    expect(await s.texts("天气很")).toEqual(["今天天气很好，我们去公园吧"]);
    expect(await s.texts("公园")).toEqual(["今天天气很好，我们去公园吧"]);
    expect(await s.texts("天気は")).toEqual(["東京の天気はどうですか"]);
    expect(await s.texts("明天")).toEqual([]);
  });

  it("finds English by words and prefixes, case-insensitively; every word must match", async () => {
    const alice = await newUser(transport);
    const room = await newRoom(alice);
    await post(alice, room, "We deployed the new build to staging");
    await post(alice, room, "The deployment is blocked by a flaky test");
    await post(alice, room, "lunch?");
    const s = searcher(alice);
    expect((await s.texts("deploy")).sort()).toEqual([
      "The deployment is blocked by a flaky test",
      "We deployed the new build to staging",
    ]);
    expect(await s.texts("DEPLOYED")).toEqual(["We deployed the new build to staging"]);
    expect(await s.texts("the flaky")).toEqual(["The deployment is blocked by a flaky test"]);
    // Short words and stopwords are searchable too (InnoDB alone ignores both).
    expect(await s.texts("to")).toEqual(["We deployed the new build to staging"]);
    expect(await s.texts("ployed")).toEqual([]);
    expect(await s.texts("deploy lunch")).toEqual([]);
  });

  it("reflects edits and deletions at once", async () => {
    const alice = await newUser(transport);
    const bob = await newUser(transport);
    const room = await newRoom(alice, [bob]);
    const m = await post(bob, room, "明天下雨 rain tomorrow");
    const s = searcher(alice);
    expect(await s.texts("下雨")).toEqual(["明天下雨 rain tomorrow"]);
    await bob.msgs.editMessage({ messageId: m.id, text: "明天晴天 sunny tomorrow" });
    expect(await s.texts("下雨")).toEqual([]);
    expect(await s.texts("rain")).toEqual([]);
    expect(await s.texts("晴天")).toEqual(["明天晴天 sunny tomorrow"]);
    expect(await s.texts("sunny")).toEqual(["明天晴天 sunny tomorrow"]);
    await alice.msgs.deleteMessage({ messageId: m.id });
    expect(await s.texts("晴天")).toEqual([]);
    expect(await s.texts("tomorrow")).toEqual([]);
  });

  it("filters by room, sender and time, and orders by date or relevance", async () => {
    const alice = await newUser(transport);
    const bob = await newUser(transport);
    const r1 = await newRoom(alice, [bob]);
    const r2 = await newRoom(alice, [bob]);
    const a1 = await post(alice, r1, "report one");
    const b1 = await post(bob, r1, "report report report two");
    const a2 = await post(
      alice,
      r2,
      "report three, a much longer message about other things entirely",
    );
    const s = searcher(alice);
    const ids = async (more: Filters) =>
      (await s.search("report", more)).hits.map((h) => h.message?.id);
    expect(await ids({ order: SearchOrder.DATE })).toEqual([a2.id, b1.id, a1.id]);
    expect(await ids({ roomId: r1, order: SearchOrder.DATE })).toEqual([b1.id, a1.id]);
    expect(await ids({ senderId: bob.id })).toEqual([b1.id]);
    expect((await ids({ order: SearchOrder.RELEVANCE }))[0]).toBe(b1.id);
    // Exactly the messages sent before a2's time (some may share its millisecond).
    const ms = (m: typeof a1) =>
      Number(m.createTime?.seconds) * 1000 + (m.createTime?.nanos ?? 0) / 1e6;
    const before = [b1, a1].filter((m) => ms(m) < ms(a2)).map((m) => m.id);
    const at = a2.createTime as NonNullable<typeof a2.createTime>;
    expect(await ids({ order: SearchOrder.DATE, beforeTime: at })).toEqual(before);
    expect(await ids({ order: SearchOrder.DATE, afterTime: at })).toEqual(
      [a2, b1, a1].filter((m) => ms(m) >= ms(a2)).map((m) => m.id),
    );
  });

  it("pages with tokens until the last hit, in either order", async () => {
    const alice = await newUser(transport);
    const room = await newRoom(alice);
    const sent: bigint[] = [];
    for (let i = 0; i < 7; i++) sent.push((await post(alice, room, `page item ${i} 分页`)).id);
    for (const order of [SearchOrder.DATE, SearchOrder.RELEVANCE]) {
      for (const query of ["item", "分页"]) {
        const seen: bigint[] = [];
        let pageToken = "";
        let pages = 0;
        do {
          const res = await searcher(alice).search(query, { order, pageSize: 3, pageToken });
          seen.push(...res.hits.map((h) => h.message?.id ?? 0n));
          pageToken = res.nextPageToken;
          pages++;
        } while (pageToken !== "" && pages < 10);
        expect([...seen].sort()).toEqual([...sent].sort());
        if (order === SearchOrder.DATE) expect(seen).toEqual([...sent].reverse());
      }
    }
    // A date token is refused for a relevance search.
    const first = await searcher(alice).search("item", { order: SearchOrder.DATE, pageSize: 1 });
    const err = await expectCode(
      searcher(alice).search("item", {
        order: SearchOrder.RELEVANCE,
        pageToken: first.nextPageToken,
      }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["page_token"]);
  });

  it("searches only rooms the caller may read now: never after leaving or a ban", async () => {
    const owner = await newUser(transport);
    const bob = await newUser(transport);
    const eve = await newUser(transport);
    const pub = await newRoom(owner, [bob]);
    const priv = await newRoom(owner, [bob], Visibility.PRIVATE);
    await post(owner, pub, "secret plan 秘密计划 in public");
    await post(owner, priv, "secret plan 秘密计划 in private");
    const b = searcher(bob);
    const e = searcher(eve);
    expect((await b.texts("secret")).length).toBe(2);
    // Eve is in neither: nothing without a room; the public one when she names it.
    expect(await e.texts("secret")).toEqual([]);
    expect(await e.texts("秘密", { roomId: pub })).toEqual(["secret plan 秘密计划 in public"]);
    await expectCode(e.search("secret", { roomId: priv }), Code.NotFound);
    // Bob leaves the private room and is banned from the public one.
    await bob.rooms.leaveRoom({ roomId: priv });
    await owner.rooms.banMember({ roomId: pub, userId: bob.id });
    expect(await b.texts("secret")).toEqual([]);
    expect(await b.texts("秘密计划")).toEqual([]);
    await expectCode(b.search("secret", { roomId: priv }), Code.NotFound);
    await expectCode(b.search("secret", { roomId: pub }), Code.NotFound);
  });

  it("refuses bad queries, changing nothing", async () => {
    const alice = await newUser(transport);
    const s = searcher(alice);
    expect(badFields(await expectCode(s.search("天"), Code.InvalidArgument))).toEqual(["query"]);
    expect(badFields(await expectCode(s.search("!!!"), Code.InvalidArgument))).toEqual(["query"]);
    expect(badFields(await expectCode(s.search(""), Code.InvalidArgument))).toEqual(["query"]);
    const now = new Date();
    const err = await expectCode(
      s.search("x", {
        afterTime: timestampFromDate(now),
        beforeTime: timestampFromDate(new Date(now.getTime() - 1000)),
      }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["before_time"]);
    // Operators of InnoDB's boolean syntax are only text.
    expect(await s.texts('+x -y "z" (a) ~b *c @2')).toEqual([]);
  });
});

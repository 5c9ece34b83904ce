// Read receipts across two instances: ListReadReceipts derived from the
// read markers, live `read_receipt` events coalesced per member and room,
// the privacy setting, and authorization.
import { Code, type Transport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ReceiptService } from "../../gen/chat/v1/receipts_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { authed } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { type Ev, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { a, b } = setupTestEnv({ redis: true, instances: 2 });

const receipts = (u: TestUser, t: Transport) => authed(ReceiptService, t, u.token);
const receiptsOf = (evs: Ev[]) =>
  evs.flatMap((e) =>
    e.case === "readReceipt" ? [`${e.value.userId}@${e.value.lastReadSeq}`] : [],
  );

describe.concurrent("read receipts", () => {
  it("are each member's read marker, listed and sent live to members on other instances", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const carol = await newUser(a);
    const room = await newRoom(alice, [bob, carol]);
    const seq = await send(alice, room, "今天天气很好");
    const feed = FeedReader.open(bob.on(b).feed);
    try {
      await feed.ready();
      await carol.msgs.markRead({ roomId: room, seq });
      const evs = await feed.until((e) => e.case === "readReceipt", 5_000);
      expect(receiptsOf(evs)).toEqual([`${carol.id}@${seq}`]);
      const list = await receipts(bob, b).listReadReceipts({ roomId: room });
      const byUser = new Map(list.receipts.map((r) => [r.userId, r.lastReadSeq]));
      expect(byUser.get(carol.id)).toBe(seq);
      expect(byUser.has(alice.id)).toBe(true);
      // Bob has read nothing since he joined.
      expect(byUser.get(bob.id)).toBeLessThan(seq);
      expect(list.lastSeq).toBe(seq);
      // A marker that does not move sends nothing.
      await carol.msgs.markRead({ roomId: room, seq });
      expect(receiptsOf(await feed.quiet(1_500))).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("are coalesced: at most one per member and room a second, ending at the latest", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const seqs: bigint[] = [];
    for (let i = 0; i < 20; i++) seqs.push(await send(alice, room, `m${i}`));
    const feed = FeedReader.open(alice.on(b).feed);
    try {
      await feed.ready();
      const started = Date.now();
      for (const seq of seqs) await bob.msgs.markRead({ roomId: room, seq });
      const elapsed = Date.now() - started;
      const last = seqs.at(-1) as bigint;
      const evs = await feed.until(
        (e) => e.case === "readReceipt" && e.value.lastReadSeq === last,
        5_000,
      );
      const got = receiptsOf(evs);
      // One at once, then at most one per second of marking, plus the last.
      expect(got.length).toBeLessThanOrEqual(2 + Math.floor(elapsed / 1000));
      expect(got.length).toBeLessThan(seqs.length);
      expect(got.at(-1)).toBe(`${bob.id}@${last}`);
      const positions = got.map((g) => BigInt(g.split("@")[1] as string));
      expect([...positions].sort((x, y) => (x < y ? -1 : 1))).toEqual(positions);
    } finally {
      feed.close();
    }
  });

  it("are hidden, listed and live, for a user who hides theirs; who still sees the others'", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const seq = await send(alice, room, "hello");
    const r = receipts(bob, b);
    expect((await r.getReceiptPrivacy({})).hideReadReceipts).toBe(false);
    expect((await r.setReceiptPrivacy({ hideReadReceipts: true })).hideReadReceipts).toBe(true);
    expect((await r.getReceiptPrivacy({})).hideReadReceipts).toBe(true);
    const aliceFeed = FeedReader.open(alice.on(a).feed);
    const bobFeed = FeedReader.open(bob.on(b).feed);
    try {
      await aliceFeed.ready();
      await bobFeed.ready();
      await bob.msgs.markRead({ roomId: room, seq });
      const list = await receipts(alice, a).listReadReceipts({ roomId: room });
      expect(list.receipts.map((x) => x.userId)).toEqual([alice.id]);
      // Bob still sees Alice's, listed and live.
      await alice.msgs.markRead({ roomId: room, seq });
      expect(receiptsOf(await bobFeed.until((e) => e.case === "readReceipt", 5_000))).toEqual([
        `${alice.id}@${seq}`,
      ]);
      expect((await r.listReadReceipts({ roomId: room })).receipts.map((x) => x.userId)).toEqual([
        alice.id,
      ]);
      // Alice never heard of Bob's marker.
      expect(receiptsOf(await aliceFeed.quiet(1_200))).toEqual([`${alice.id}@${seq}`]);
      // Shown again: listed with the marker he has.
      await r.setReceiptPrivacy({ hideReadReceipts: false });
      const again = await receipts(alice, a).listReadReceipts({ roomId: room });
      expect(again.receipts.find((x) => x.userId === bob.id)?.lastReadSeq).toBe(seq);
    } finally {
      aliceFeed.close();
      bobFeed.close();
    }
  });

  it("are NOT_FOUND for a private room the caller is not in, and after a ban", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const eve = await newUser(a);
    const priv = await newRoom(alice, [bob], Visibility.PRIVATE);
    const pub = await newRoom(alice, [bob]);
    await expectCode(receipts(eve, b).listReadReceipts({ roomId: priv }), Code.NotFound);
    expect((await receipts(eve, b).listReadReceipts({ roomId: pub })).receipts.length).toBe(2);
    await alice.rooms.banMember({ roomId: pub, userId: bob.id });
    await expectCode(receipts(bob, b).listReadReceipts({ roomId: pub }), Code.NotFound);
  });
});

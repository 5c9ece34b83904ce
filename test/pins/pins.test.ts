// Pins: owners and admins pin and unpin (members when the room allows),
// each a room event at the room's next sequence, seen live on the feed; the
// pinned list; refusals write nothing.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PinService } from "../../gen/chat/v1/pins_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { authed } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventAt, roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

const pins = (u: TestUser) => authed(PinService, transport, u.token);
let n = 0;
async function post(u: TestUser, roomId: bigint, text: string) {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: `p-${++n}` });
  if (!res.message) throw new Error("no message");
  return res.message;
}

describe("pins", () => {
  it("pin and unpin are room events at the next sequence, live on the feed, and listed", async () => {
    const owner = await newUser(transport);
    const bob = await newUser(transport);
    const room = await newRoom(owner, [bob]);
    const m1 = await post(bob, room, "first");
    const m2 = await post(bob, room, "second");
    const feed = FeedReader.open(bob.feed);
    try {
      await feed.ready();
      const p1 = await pins(owner).pinMessage({ messageId: m1.id });
      expect(p1.seq).toBe(m2.seq + 1n);
      expect(p1.pin?.pinnedBy).toBe(owner.id);
      const evs = await feed.until((e) => e.case === "roomEvent" && e.value.seq === p1.seq);
      const last = evs.at(-1);
      expect(last?.case === "roomEvent" && last.value.change.case).toBe("messagePinned");
      const { event } = await eventAt(env, room, p1.seq);
      expect(event.change.case).toBe("messagePinned");
      if (event.change.case === "messagePinned") {
        expect(event.change.value.messageId).toBe(m1.id);
        expect(event.change.value.messageSeq).toBe(m1.seq);
      }
      // Again: nothing changes.
      expect((await pins(owner).pinMessage({ messageId: m1.id })).seq).toBe(0n);
      const p2 = await pins(owner).pinMessage({ messageId: m2.id });
      const list = await pins(bob).listPinnedMessages({ roomId: room });
      expect(list.pins.map((p) => p.message?.text)).toEqual(["second", "first"]);
      expect(list.membersCanPin).toBe(false);
      const u = await pins(owner).unpinMessage({ messageId: m2.id });
      expect(u.seq).toBe(p2.seq + 1n);
      expect((await eventAt(env, room, u.seq)).event.change.case).toBe("messageUnpinned");
      expect((await pins(owner).unpinMessage({ messageId: m2.id })).seq).toBe(0n);
      expect(
        (await pins(bob).listPinnedMessages({ roomId: room })).pins.map((p) => p.message?.id),
      ).toEqual([m1.id]);
      // A deleted message leaves the list.
      await owner.msgs.deleteMessage({ messageId: m1.id });
      expect((await pins(bob).listPinnedMessages({ roomId: room })).pins).toEqual([]);
    } finally {
      feed.close();
    }
  });

  it("members pin only when the room allows it; refusals write nothing", async () => {
    const owner = await newUser(transport);
    const bob = await newUser(transport);
    const eve = await newUser(transport);
    const room = await newRoom(owner, [bob], Visibility.PRIVATE);
    const m = await post(owner, room, "rules");
    const before = await roomSnapshot(env, room);
    await expectCode(pins(bob).pinMessage({ messageId: m.id }), Code.PermissionDenied);
    await expectCode(
      pins(bob).setPinPolicy({ roomId: room, membersCanPin: true }),
      Code.PermissionDenied,
    );
    await expectCode(pins(eve).pinMessage({ messageId: m.id }), Code.NotFound);
    await expectCode(pins(eve).listPinnedMessages({ roomId: room }), Code.NotFound);
    expect(await roomSnapshot(env, room)).toEqual(before);
    const policy = await pins(owner).setPinPolicy({ roomId: room, membersCanPin: true });
    expect(policy.seq).toBe(m.seq + 1n);
    expect((await eventAt(env, room, policy.seq)).event.change.case).toBe("pinPolicyChanged");
    expect((await pins(owner).setPinPolicy({ roomId: room, membersCanPin: true })).seq).toBe(0n);
    expect((await pins(bob).pinMessage({ messageId: m.id })).seq).toBe(policy.seq + 1n);
    expect((await pins(bob).listPinnedMessages({ roomId: room })).membersCanPin).toBe(true);
  });

  it("refuses system and deleted messages", async () => {
    const owner = await newUser(transport);
    const room = await newRoom(owner);
    const history = await owner.msgs.listMessages({ roomId: room });
    const system = history.messages[0];
    if (!system) throw new Error("no system message");
    await expectCode(pins(owner).pinMessage({ messageId: system.id }), Code.FailedPrecondition);
    const m = await post(owner, room, "gone");
    await owner.msgs.deleteMessage({ messageId: m.id });
    await expectCode(pins(owner).pinMessage({ messageId: m.id }), Code.FailedPrecondition);
  });
});

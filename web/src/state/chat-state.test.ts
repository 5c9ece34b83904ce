import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type FeedEvent,
  FeedEventSchema,
  ListMessagesResponseSchema,
  MemberRemoved_Reason,
  MemberRole,
  MessageKind,
  type RoomEvent,
  RoomEventSchema,
} from "@protochat/sdk";
import { describe, expect, it } from "vitest";
import { myRoom, t0, textMessage, user } from "../test/fake-server.js";
import {
  applyFeedEvent,
  type ChatState,
  expireTyping,
  feedPositions,
  historyLoaded,
  initialState,
  pendingAdded,
  pendingSent,
  roomsLoaded,
  sortedRooms,
} from "./chat-state.js";

const me = user(1n, "me");
const alice = user(2n, "alice", "Alice");
const R = 10n;

function created(seq: bigint, sender: bigint, text: string, extra = {}): RoomEvent {
  return create(RoomEventSchema, {
    roomId: R,
    seq,
    actorId: sender,
    time: timestampFromMs(t0 + Number(seq) * 60_000),
    change: {
      case: "messageCreated",
      value: { message: textMessage(R, seq, sender, text, extra) },
    },
  });
}

function ev(e: RoomEvent): FeedEvent {
  return create(FeedEventSchema, { event: { case: "roomEvent", value: e } });
}

function change(
  seq: bigint,
  c: MessageInitShape<typeof RoomEventSchema>["change"],
  actor = 2n,
): RoomEvent {
  return create(RoomEventSchema, {
    roomId: R,
    seq,
    actorId: actor,
    time: timestampFromMs(t0 + Number(seq) * 60_000),
    change: c,
  });
}

function apply(s: ChatState, ...events: FeedEvent[]): ChatState {
  return events.reduce((acc, e) => applyFeedEvent(acc, e, t0), s);
}

function loaded(lastSeq = 5n, unread = 0): ChatState {
  return roomsLoaded(initialState(me), [myRoom(R, "general", lastSeq, { unread })]);
}

function withHistory(s: ChatState, lastSeq: bigint, texts: [bigint, string][]): ChatState {
  return historyLoaded(
    s,
    "10",
    create(ListMessagesResponseSchema, {
      messages: texts.map(([seq, t]) => textMessage(R, seq, 2n, t)),
      lastSeq,
    }),
    "latest",
  );
}

describe("feed reducer", () => {
  it("resumes from the snapshot, then from the last sequence delivered", () => {
    let s = loaded(5n);
    expect(feedPositions(s)).toEqual([{ roomId: R, lastSeq: 5n }]);
    s = apply(s, ev(created(6n, 2n, "a")), ev(created(7n, 2n, "b")));
    expect(feedPositions(s)).toEqual([{ roomId: R, lastSeq: 7n }]);
  });

  it("counts unread messages and mentions from others, once each", () => {
    let s = loaded(5n, 1);
    s = apply(
      s,
      ev(created(6n, 2n, "hi")),
      ev(created(7n, 2n, "hey @me", { mentionIds: [1n] })),
      ev(created(8n, 1n, "mine")),
      ev(created(7n, 2n, "hey @me", { mentionIds: [1n] })), // replayed twice
    );
    expect(s.rooms["10"]?.unread).toBe(3);
    expect(s.rooms["10"]?.mentions).toBe(1);
  });

  it("does not count what a snapshot already counted, and keeps what came after it", () => {
    let s = loaded(5n);
    s = apply(s, ev(created(6n, 2n, "x")), ev(created(7n, 2n, "y")));
    // A snapshot read at seq 6 (before event 7 arrived) says 1 unread.
    s = roomsLoaded(s, [myRoom(R, "general", 6n, { unread: 1 })]);
    expect(s.rooms["10"]?.unread).toBe(2);
    // A replay of 6 and 7 after a reconnect changes nothing.
    s = apply(s, ev(created(6n, 2n, "x")), ev(created(7n, 2n, "y")));
    expect(s.rooms["10"]?.unread).toBe(2);
  });

  it("applies edits, deletions and reactions to the history idempotently", () => {
    let s = withHistory(loaded(2n), 2n, [
      [1n, "first"],
      [2n, "second"],
    ]);
    const edit = change(3n, {
      case: "messageEdited",
      value: { messageId: 1001n, text: "first!", mentionIds: [] },
    });
    const react = change(
      4n,
      { case: "reactionAdded", value: { messageId: 1002n, emoji: "👍", userId: 1n, count: 1 } },
      1n,
    );
    const del = change(5n, { case: "messageDeleted", value: { messageId: 1002n, deletedBy: 2n } });
    s = apply(s, ev(edit), ev(react));
    const msgs = s.rooms["10"]?.messages ?? [];
    expect(msgs[0]?.text).toBe("first!");
    expect(msgs[0]?.editTime).toBeDefined();
    expect(msgs[1]?.reactions).toMatchObject([{ emoji: "👍", count: 1, me: true }]);
    s = apply(s, ev(del), ev(edit), ev(react)); // replays are ignored
    const after = s.rooms["10"]?.messages ?? [];
    expect(after[1]).toMatchObject({ deleted: true, text: "", reactions: [] });
    expect(after).toHaveLength(2);
  });

  it("replays events that arrived before a history page onto it", () => {
    let s = loaded(2n);
    s = apply(s, ev(created(3n, 2n, "live 3")), ev(created(4n, 2n, "live 4")));
    // The page was read at seq 3: it has 3, not 4.
    s = withHistory(s, 3n, [
      [1n, "one"],
      [2n, "two"],
      [3n, "live 3"],
    ]);
    expect(s.rooms["10"]?.messages.map((m) => m.text)).toEqual(["one", "two", "live 3", "live 4"]);
  });

  it("shows membership changes as system lines", () => {
    let s = withHistory(loaded(1n), 1n, [[1n, "hi"]]);
    s = apply(
      s,
      ev(
        change(2n, {
          case: "membersAdded",
          value: { members: [{ user: alice, role: MemberRole.MEMBER }] },
        }),
      ),
      ev(
        change(
          3n,
          { case: "memberRemoved", value: { userId: 2n, reason: MemberRemoved_Reason.KICKED } },
          1n,
        ),
      ),
    );
    const lines = s.rooms["10"]?.messages.filter((m) => m.kind === MessageKind.SYSTEM) ?? [];
    expect(lines.map((m) => m.system?.notice.case)).toEqual(["membersJoined", "memberRemoved"]);
    expect(s.users["2"]?.displayName).toBe("Alice");
  });

  it("turns a pending send into the sent message on the echo", () => {
    let s = withHistory(loaded(1n), 1n, [[1n, "hi"]]);
    s = pendingAdded(s, "10", {
      clientMsgId: "c-1",
      text: "yo",
      replyToId: 0n,
      replyTo: undefined,
      status: "pending",
      createdAt: t0,
    });
    expect(s.rooms["10"]?.pending).toHaveLength(1);
    s = apply(s, ev(created(2n, 1n, "yo", { clientMsgId: "c-1" })));
    expect(s.rooms["10"]?.pending).toHaveLength(0);
    // The SendMessage answer arriving after the echo adds nothing.
    s = pendingSent(s, "10", textMessage(R, 2n, 1n, "yo", { clientMsgId: "c-1" }));
    expect(s.rooms["10"]?.messages.map((m) => m.text)).toEqual(["hi", "yo"]);
  });

  it("marks a reset room for a quiet reload and resumes from the reset position", () => {
    let s = withHistory(loaded(5n), 5n, [[5n, "old"]]);
    s = apply(
      s,
      create(FeedEventSchema, {
        event: { case: "reset", value: { roomId: R, lastSeq: 2000n } },
      }),
    );
    expect(s.rooms["10"]?.historyStale).toBe(true);
    expect(s.rooms["10"]?.messages).toHaveLength(1); // still shown until reloaded
    expect(feedPositions(s)).toEqual([{ roomId: R, lastSeq: 2000n }]);
  });

  it("drops rooms that `ready` no longer lists and rooms removed live", () => {
    let s = roomsLoaded(initialState(me), [myRoom(R, "a", 1n), myRoom(11n, "b", 1n)]);
    s = apply(
      s,
      create(FeedEventSchema, {
        event: { case: "ready", value: { rooms: [{ roomId: R, lastSeq: 1n }] } },
      }),
    );
    expect(Object.keys(s.rooms)).toEqual(["10"]);
    s = apply(s, create(FeedEventSchema, { event: { case: "roomRemoved", value: { roomId: R } } }));
    expect(Object.keys(s.rooms)).toEqual([]);
  });

  it("tracks typing with expiry and clears it when the typist posts", () => {
    let s = loaded(1n);
    const typing = (on: boolean) =>
      create(FeedEventSchema, {
        event: { case: "typing", value: { roomId: R, userId: 2n, typing: on } },
      });
    s = apply(s, typing(true));
    expect(Object.keys(s.rooms["10"]?.typing ?? {})).toEqual(["2"]);
    s = apply(s, ev(created(2n, 2n, "done")));
    expect(s.rooms["10"]?.typing).toEqual({});
    s = apply(s, typing(true));
    s = expireTyping(s, t0 + 60_000);
    expect(s.rooms["10"]?.typing).toEqual({});
  });

  it("sorts rooms by latest activity", () => {
    let s = roomsLoaded(initialState(me), [
      myRoom(R, "old", 1n, { activityMs: t0 }),
      myRoom(11n, "new", 1n, { activityMs: t0 + 1000 }),
    ]);
    expect(sortedRooms(s.rooms).map((r) => r.room.name)).toEqual(["new", "old"]);
    s = apply(s, ev(created(2n, 2n, "bump")));
    expect(sortedRooms(s.rooms).map((r) => r.room.name)).toEqual(["old", "new"]);
  });
});

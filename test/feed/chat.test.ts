/**
 * The bidirectional Chat stream: in memory and on the real server over
 * HTTP/2 (gRPC and Connect). Commands get one ack or error each, feed
 * events come on the same stream, and a failed command never ends it.
 */
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, expect, describe as group, it } from "vitest";
import type { ChatResponse } from "../../gen/chat/v1/feed_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { ChatStream, describe, describeChat, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";

const { env, transport: memory, server } = setupTestEnv({ redis: true, server: true });

const transports: [string, () => Transport][] = [
  ["in memory", () => memory],
  ["gRPC over HTTP/2 (real server)", () => createGrpcTransport({ baseUrl: server.url })],
  [
    "Connect over HTTP/2 (real server)",
    () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
  ],
];

const isAck = (id: string) => (r: ChatResponse) =>
  r.response.case === "ack" && r.response.value.requestId === id;
const isError = (id: string) => (r: ChatResponse) =>
  r.response.case === "error" && r.response.value.requestId === id;

group.each(transports)("Chat over %s", (_name, make) => {
  let t: Transport;
  let alice: TestUser;
  let bob: TestUser;
  let room: bigint;
  beforeAll(async () => {
    t = make();
    alice = await newUser(t);
    bob = await newUser(memory);
    room = await newRoom(alice, [bob]);
    await send(bob, room, "earlier");
  });

  it("subscribe: ack, ready and the replayed events; then live events", async () => {
    const chat = new ChatStream(alice.on(t).feed);
    try {
      chat.command(
        { case: "subscribe", value: { positions: [{ roomId: room, lastSeq: 0n }] } },
        "sub-1",
      );
      const got = await chat.until((r) => describeChat(r) === `${room}:2:messageCreated:earlier`);
      const labels = got.map(describeChat);
      // The ack may come anywhere after ready; everything else is in order.
      expect(labels.filter((l) => l.startsWith("ack"))).toEqual(["ack sub-1"]);
      expect(labels.filter((l) => !l.startsWith("ack"))).toEqual([
        `ready ${room}@2`,
        `${room}:1:membersAdded:${alice.id}+${bob.id}`,
        `${room}:2:messageCreated:earlier`,
      ]);
      expect(labels.indexOf("ack sub-1")).toBeGreaterThan(0);
      await send(bob, room, "live one");
      const live = await chat.until((r) => r.response.case === "event");
      expect(live.map(describeChat)).toEqual([`${room}:3:messageCreated:live one`]);
    } finally {
      chat.close();
    }
  });

  it("send_message: an ack with the message, and its event on the same stream", async () => {
    const chat = new ChatStream(alice.on(t).feed);
    try {
      chat.command({ case: "subscribe", value: { positions: [] } }, "sub");
      await chat.until(isAck("sub"));
      const before = (await env.prisma.room.findUniqueOrThrow({ where: { id: room } })).lastSeq;
      chat.command(
        { case: "sendMessage", value: { roomId: room, text: "via chat", clientMsgId: "chat-1" } },
        "send-1",
      );
      const got = await chat.until(
        (r) => isAck("send-1")(r) || describeChat(r).endsWith(":messageCreated:via chat"),
      );
      const rest = await chat.until(
        (r) => isAck("send-1")(r) || describeChat(r).endsWith(":messageCreated:via chat"),
      );
      const all = [...got, ...rest];
      expect(all.map(describeChat).sort()).toEqual(
        [`${room}:${before + 1n}:messageCreated:via chat`, "ack send-1 sendMessage"].sort(),
      );
      const ack = all.find(isAck("send-1"));
      if (ack?.response.case !== "ack" || ack.response.value.result.case !== "sendMessage") {
        throw new Error("no send_message ack");
      }
      const msg = ack.response.value.result.value.message;
      expect(msg?.text).toBe("via chat");
      expect(msg?.clientMsgId).toBe("chat-1");
      expect(msg?.senderId).toBe(alice.id);
      expect(msg?.seq).toBe(before + 1n);
      // Sending the same client_msg_id again is a duplicate, not a new event.
      chat.command(
        { case: "sendMessage", value: { roomId: room, text: "via chat", clientMsgId: "chat-1" } },
        "send-2",
      );
      const dup = await chat.until(isAck("send-2"));
      const last = dup.at(-1);
      if (last?.response.case !== "ack" || last.response.value.result.case !== "sendMessage") {
        throw new Error("no ack");
      }
      expect(last.response.value.result.value.duplicate).toBe(true);
      expect(dup.slice(0, -1).map(describeChat)).toEqual([]);
    } finally {
      chat.close();
    }
  });

  it("a bad command gets a CommandError and the stream goes on", async () => {
    const carol = await newUser(memory);
    const privateOfCarol = await newRoom(carol, [], Visibility.PRIVATE);
    const chat = new ChatStream(alice.on(t).feed);
    try {
      chat.command({ case: "subscribe", value: { positions: [] } }, "sub");
      await chat.until(isAck("sub"));
      const bad: [string, Parameters<ChatStream["command"]>[0], string][] = [
        [
          "not-member",
          { case: "sendMessage", value: { roomId: privateOfCarol, text: "x", clientMsgId: "b1" } },
          "not_found",
        ],
        [
          "no-room",
          { case: "sendMessage", value: { roomId: 777_777_777n, text: "x", clientMsgId: "b2" } },
          "not_found",
        ],
        [
          "empty-text",
          { case: "sendMessage", value: { roomId: room, text: "", clientMsgId: "b3" } },
          "invalid_argument",
        ],
        [
          "blank-text",
          { case: "sendMessage", value: { roomId: room, text: "   ", clientMsgId: "b4" } },
          "invalid_argument",
        ],
        [
          "bad-client-id",
          { case: "sendMessage", value: { roomId: room, text: "x", clientMsgId: "no spaces" } },
          "invalid_argument",
        ],
        ["no-command", { case: undefined }, "invalid_argument"],
        [
          "typing-elsewhere",
          { case: "setTyping", value: { roomId: privateOfCarol, typing: true } },
          "not_found",
        ],
      ];
      for (const [id, command, code] of bad) {
        chat.command(command, id);
        const got = await chat.until(isError(id));
        expect(got.map(describeChat)).toEqual([`error ${id} ${code}`]);
        const err = got[0]?.response;
        if (err?.case === "error") expect(err.value.message).not.toBe("");
      }
      chat.command({ case: "ping", value: {} }, "ping-1");
      expect((await chat.until(isAck("ping-1"))).map(describeChat)).toEqual(["ack ping-1"]);
      // A bad request id is answered too (with the id it had).
      chat.command({ case: "ping", value: {} }, "x".repeat(65));
      expect((await chat.until((r) => r.response.case === "error")).map(describeChat)).toEqual([
        `error ${"x".repeat(65)} invalid_argument`,
      ]);
      // The feed is still live.
      await send(bob, room, "after errors");
      expect((await chat.until((r) => r.response.case === "event")).map(describeChat)).toEqual([
        `${room}:${(await env.prisma.room.findUniqueOrThrow({ where: { id: room } })).lastSeq}:messageCreated:after errors`,
      ]);
    } finally {
      chat.close();
    }
  });

  it("a failed re-subscribe keeps the previous subscription", async () => {
    const chat = new ChatStream(alice.on(t).feed);
    try {
      chat.command({ case: "subscribe", value: { positions: [] } }, "sub");
      await chat.until(isAck("sub"));
      chat.command(
        { case: "subscribe", value: { positions: [{ roomId: room, lastSeq: 999_999n }] } },
        "bad-position",
      );
      expect((await chat.until(isError("bad-position"))).map(describeChat)).toEqual([
        "error bad-position invalid_argument",
      ]);
      chat.command(
        { case: "subscribe", value: { positions: [{ roomId: 777_777_777n, lastSeq: 0n }] } },
        "bad-room",
      );
      expect((await chat.until(isError("bad-room"))).map(describeChat)).toEqual([
        "error bad-room not_found",
      ]);
      await send(bob, room, "still subscribed?");
      const got = await chat.until((r) => r.response.case === "event", 3_000);
      expect(describeChat(got[0] as ChatResponse)).toMatch(/:messageCreated:still subscribed\?$/);
    } finally {
      chat.close();
    }
  });

  it("set_typing and mark_read are acked and reach the feeds", async () => {
    const bobFeed = FeedReader.open(bob.feed);
    const aliceFeed = FeedReader.open(alice.feed);
    const chat = new ChatStream(alice.on(t).feed);
    try {
      await bobFeed.ready();
      await aliceFeed.ready();
      chat.command({ case: "setTyping", value: { roomId: room, typing: true } }, "typing-1");
      expect((await chat.until(isAck("typing-1"))).map(describeChat)).toEqual(["ack typing-1"]);
      const typing = await bobFeed.until((e) => e.case === "typing");
      expect(typing.map(describe)).toEqual([`typing ${room} ${alice.id} true`]);
      chat.command({ case: "setTyping", value: { roomId: room, typing: false } }, "typing-2");
      await chat.until(isAck("typing-2"));
      expect((await bobFeed.until((e) => e.case === "typing")).map(describe)).toEqual([
        `typing ${room} ${alice.id} false`,
      ]);
      chat.command({ case: "markRead", value: { roomId: room, seq: 2n } }, "read-1");
      const acked = await chat.until(isAck("read-1"));
      const ack = acked.at(-1)?.response;
      if (ack?.case !== "ack" || ack.value.result.case !== "markRead")
        throw new Error("no mark_read ack");
      expect(ack.value.result.value.lastReadSeq).toBe(2n);
      // Alice's other device hears about it.
      const marker = await aliceFeed.until((e) => e.case === "readMarker");
      expect(marker.filter((e) => e.case !== "typing").map(describe)).toEqual([
        `read_marker ${room} 2`,
      ]);
    } finally {
      chat.close();
      bobFeed.close();
      aliceFeed.close();
    }
  });

  it("ends when the client closes its side before subscribing; stays open once subscribed", async () => {
    const quick = new ChatStream(alice.on(t).feed);
    try {
      quick.command({ case: "ping", value: {} }, "only");
      quick.requests.end();
      expect((await quick.until(isAck("only"))).map(describeChat)).toEqual(["ack only"]);
      const end = await quick.reader.poll(3_000);
      expect(end?.kind).toBe("end");
    } finally {
      quick.close();
    }
    const feedLike = new ChatStream(alice.on(t).feed);
    try {
      feedLike.command({ case: "subscribe", value: { positions: [] } }, "sub");
      await feedLike.until(isAck("sub"));
      feedLike.requests.end();
      await send(bob, room, "half-closed but subscribed");
      const got = await feedLike.until((r) => r.response.case === "event");
      expect(describeChat(got[0] as ChatResponse)).toMatch(
        /:messageCreated:half-closed but subscribed$/,
      );
    } finally {
      feedLike.close();
    }
  });
});

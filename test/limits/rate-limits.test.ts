/**
 * Rate limits over the network and in process: each refusal is
 * RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMITED and a RetryInfo delay, on
 * Connect (HTTP 429), gRPC and gRPC-Web, and as a Chat CommandError that
 * leaves the stream open; counters are shared by two instances through
 * Redis. Every window is ten minutes, so no test depends on timing.
 */
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { withToken } from "../support/clients.js";
import { expectCode, reasonOf } from "../support/errors.js";
import { ChatStream, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, roomOfTwo, send } from "../support/users.js";
import { expectLimited, lowLimits, retryDelayMs } from "./kit.js";

const { a, b, server } = setupTestEnv({
  redis: true,
  instances: 2,
  deps: { rateLimits: lowLimits() },
  server: true,
});

let n = 0;
const msg = (roomId: bigint) => ({ roomId, text: `m${++n}`, clientMsgId: `c${n}` });

const transports: Record<string, () => Transport> = {
  "Connect over HTTP/1.1": () =>
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  "gRPC over h2c": () => createGrpcTransport({ baseUrl: server.url }),
  "gRPC-Web over HTTP/1.1": () =>
    createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
};

describe.each(Object.entries(transports))("sends per user over %s", (_name, make) => {
  it("refuses the send past the burst with RetryInfo, and the next user is unaffected", async () => {
    const { alice, bob, room } = await roomOfTwo(a, "rl");
    const msgs = createClient(MessageService, withToken(make(), alice.token));
    for (let i = 0; i < 3; i++) await msgs.sendMessage(msg(room));
    await expectLimited(msgs.sendMessage(msg(room)));
    // Nothing was stored by the refused call; another user still sends.
    await createClient(MessageService, withToken(make(), bob.token)).sendMessage(msg(room));
  });
});

describe("Connect unary refusal", () => {
  it("is HTTP 429 with the details in the JSON body", async () => {
    const { alice, room } = await roomOfTwo(a, "rl");
    for (let i = 0; i < 3; i++) await send(alice, room, `x${i}`);
    const res = await fetch(`${server.url}/chat.v1.MessageService/SendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ roomId: String(room), text: "over", clientMsgId: "over" }),
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { code: string; details: { type: string }[] };
    expect(body.code).toBe("resource_exhausted");
    expect(body.details.map((d) => d.type).sort()).toEqual([
      "google.rpc.ErrorInfo",
      "google.rpc.RetryInfo",
    ]);
  });
});

describe("Chat commands", () => {
  it("answer a limited send with a CommandError carrying RetryInfo; the stream stays open", async () => {
    const { alice, room } = await roomOfTwo(a, "rl");
    const chat = new ChatStream(
      createClient(
        FeedService,
        withToken(createGrpcTransport({ baseUrl: server.url }), alice.token),
      ),
    );
    try {
      for (let i = 0; i < 4; i++) chat.command({ case: "sendMessage", value: msg(room) });
      const answers = await chat.until(
        (r) =>
          r.response.case === "error" ||
          (r.response.case === "ack" && r.response.value.requestId === "r4"),
      );
      const last = answers.at(-1);
      expect(last?.response.case).toBe("error");
      if (last?.response.case !== "error") return;
      expect(last.response.value.requestId).toBe("r4");
      expect(last.response.value.code).toBe("resource_exhausted");
      const types = last.response.value.details.map((d) => d.typeUrl).sort();
      expect(types).toEqual([
        "type.googleapis.com/google.rpc.ErrorInfo",
        "type.googleapis.com/google.rpc.RetryInfo",
      ]);
      // The stream is still there: a ping is answered.
      const id = chat.command({ case: "ping", value: {} });
      await chat.until((r) => r.response.case === "ack" && r.response.value.requestId === id);
    } finally {
      chat.close();
    }
  });

  it("limit subscribe churn on one stream", async () => {
    const alice = await newUser(a, "rl");
    const chat = new ChatStream(alice.feed);
    try {
      for (let i = 0; i < 3; i++) chat.command({ case: "subscribe", value: {} });
      const answers = await chat.until((r) => r.response.case === "error");
      const err = answers.at(-1);
      expect(err?.response.case === "error" && err.response.value.requestId).toBe("r3");
      expect(err?.response.case === "error" && err.response.value.code).toBe("resource_exhausted");
    } finally {
      chat.close();
    }
  });
});

describe("shared between instances through Redis", () => {
  it("counts sends on a and b against one limit", async () => {
    const { alice, room } = await roomOfTwo(a, "rl");
    const onB = alice.on(b);
    await alice.msgs.sendMessage(msg(room));
    await onB.msgs.sendMessage(msg(room));
    await alice.msgs.sendMessage(msg(room));
    await expectLimited(onB.msgs.sendMessage(msg(room)));
    await expectLimited(alice.msgs.sendMessage(msg(room)));
  });
});

describe("each limit", () => {
  it("typing", async () => {
    const { alice, room } = await roomOfTwo(a, "rl");
    for (let i = 0; i < 3; i++) await alice.feed.setTyping({ roomId: room, typing: i % 2 === 0 });
    await expectLimited(alice.feed.setTyping({ roomId: room, typing: true }));
  });

  it("room creation, and invitations counted per user invited", async () => {
    const alice = await newUser(a, "rl");
    const [x, y, z, w, v] = await Promise.all([1, 2, 3, 4, 5].map(() => newUser(a, "rl")));
    if (!x || !y || !z || !w || !v) throw new Error("users missing");
    const room = await newRoom(alice, [x, y]); // room 1, invitations 2
    await alice.rooms.inviteMembers({ roomId: room, userIds: [z.id] }); // invitations 3
    await alice.rooms.inviteMembers({ roomId: room, userIds: [w.id] }); // invitations 4
    await expectLimited(alice.rooms.inviteMembers({ roomId: room, userIds: [v.id] }));
    await newRoom(alice); // room 2
    await newRoom(alice); // room 3
    await expectLimited(
      alice.rooms.createRoom({ name: "one too many", visibility: Visibility.PUBLIC }),
    );
    // Nothing of the refused calls was stored.
    const members = await alice.rooms.listMembers({ roomId: room });
    expect(members.members.map((m) => m.user?.id)).not.toContain(v.id);
  });

  it("user search", async () => {
    const alice = await newUser(a, "rl");
    await alice.users.searchUsers({ prefix: "rl" });
    await alice.users.searchUsers({ prefix: "rl" });
    await expectLimited(alice.users.searchUsers({ prefix: "rl" }));
  });

  it("Subscribe calls", async () => {
    const alice = await newUser(a, "rl");
    for (let i = 0; i < 2; i++) {
      const feed = FeedReader.open(alice.feed);
      await feed.ready();
      feed.close();
    }
    const third = FeedReader.open(alice.feed);
    try {
      await expectLimited(third.ready());
    } finally {
      third.close();
    }
  });

  it("distinct reactions per message: a quota without RetryInfo; re-adding one is fine", async () => {
    const { alice, room } = await roomOfTwo(a, "rl");
    const seq = await send(alice, room, "react to me");
    const m = await alice.msgs.listMessages({ roomId: room, limit: 1 });
    const id = m.messages[0]?.id ?? 0n;
    expect(m.messages[0]?.seq).toBe(seq);
    for (const e of ["👍", "🎉", "❤️"]) await alice.msgs.addReaction({ messageId: id, emoji: e });
    const err = await expectCode(
      alice.msgs.addReaction({ messageId: id, emoji: "😂" }),
      Code.ResourceExhausted,
    );
    expect(reasonOf(err)).toBe("QUOTA_EXCEEDED");
    expect(retryDelayMs(err)).toBeUndefined();
    await alice.msgs.addReaction({ messageId: id, emoji: "👍" });
    await alice.msgs.removeReaction({ messageId: id, emoji: "🎉" });
    await alice.msgs.addReaction({ messageId: id, emoji: "😂" });
  });
});

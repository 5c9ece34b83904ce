// MessageService through the real server over HTTP/1.1 with the Connect
// protocol (JSON, as browsers use it; and binary), including input that only
// JSON can carry (unpaired surrogates).
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import { authed, withToken } from "../support/clients.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser } from "../support/users.js";

const { env, server } = setupTestEnv({ instances: 0, server: true });

describe("MessageService over Connect HTTP/1.1", () => {
  it("sends, reacts, lists, reads and rejects bad input (JSON)", async () => {
    const transport = createConnectTransport({
      baseUrl: server.url,
      httpVersion: "1.1",
      useBinaryFormat: false,
    });
    const a = await newUser(transport);
    const b = await newUser(transport);
    const rooms = authed(RoomService, transport, a.token);
    const msgsA = authed(MessageService, transport, a.token);
    const msgsB = authed(MessageService, transport, b.token);
    const room = await rooms.createRoom({
      name: "over http",
      visibility: Visibility.PRIVATE,
      memberIds: [b.user.id],
    });
    const roomId = room.room?.id ?? 0n;

    const sent = await msgsA.sendMessage({
      roomId,
      text: `hello @${b.username} 👋`,
      clientMsgId: "http-1",
    });
    expect(sent.message?.mentionIds).toEqual([b.user.id]);
    const again = await msgsA.sendMessage({ roomId, text: "ignored", clientMsgId: "http-1" });
    expect(again.duplicate).toBe(true);
    expect(again.message?.id).toBe(sent.message?.id);

    const reacted = await msgsB.addReaction({ messageId: sent.message?.id ?? 0n, emoji: "👋🏽" });
    expect(reacted.reactions).toMatchObject([{ emoji: "👋🏽", count: 1, me: true }]);

    const page = await msgsB.listMessages({ roomId, limit: 10 });
    const last = page.messages.at(-1);
    expect(last?.text).toBe(`hello @${b.username} 👋`);
    expect(last?.reactions).toMatchObject([{ emoji: "👋🏽", count: 1, me: true }]);
    const asAuthor = await msgsA.getMessage({ messageId: sent.message?.id ?? 0n });
    expect(asAuthor.message?.reactions).toMatchObject([{ emoji: "👋🏽", count: 1, me: false }]);
    expect(page.lastSeq).toBeGreaterThanOrEqual(last?.seq ?? 0n);

    const read = await msgsB.markRead({ roomId, seq: 0n });
    expect([read.unreadCount, read.mentionCount]).toEqual([1, 1]);
    const done = await msgsB.markRead({ roomId, seq: page.lastSeq });
    expect([done.unreadCount, done.mentionCount]).toEqual([0, 0]);

    const before = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
    // JSON can carry unpaired surrogates (binary protobuf cannot): refused
    // (by the JSON decoder already), as is NUL (by the service).
    for (const text of ["bad \uD83D", "bad \uDC00 too"]) {
      await expectCode(
        msgsA.sendMessage({ roomId, text, clientMsgId: "http-bad" }),
        Code.InvalidArgument,
      );
    }
    await expectCode(
      msgsA.addReaction({ messageId: sent.message?.id ?? 0n, emoji: "\uD83D" }),
      Code.InvalidArgument,
    );
    const nul = await expectCode(
      msgsA.sendMessage({ roomId, text: "nul \u0000", clientMsgId: "http-bad" }),
      Code.InvalidArgument,
    );
    expect(badFields(nul)).toEqual(["text"]);
    const nulEmoji = await expectCode(
      msgsA.addReaction({ messageId: sent.message?.id ?? 0n, emoji: "a\u0000" }),
      Code.InvalidArgument,
    );
    expect(badFields(nulEmoji)).toEqual(["emoji"]);
    expect(await env.prisma.message.count({ where: { roomId, clientMsgId: "http-bad" } })).toBe(0);
    const after = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
    expect(after.lastSeq).toBe(before.lastSeq);

    // A stranger can't see the private room at all.
    const c = await newUser(transport);
    await expectCode(
      authed(MessageService, transport, c.token).listMessages({ roomId }),
      Code.NotFound,
    );
    await expectCode(
      authed(MessageService, transport, c.token).getMessage({ messageId: sent.message?.id ?? 0n }),
      Code.NotFound,
    );
    // Without a token: Unauthenticated.
    await expectCode(
      createClient(MessageService, transport).listMessages({ roomId }),
      Code.Unauthenticated,
    );
  });

  it("works with the binary Connect codec too", async () => {
    const binary = createConnectTransport({
      baseUrl: server.url,
      httpVersion: "1.1",
      useBinaryFormat: true,
    });
    const a = await newUser(binary);
    const rooms = createClient(RoomService, withToken(binary, a.token));
    const msgs = createClient(MessageService, withToken(binary, a.token));
    const room = await rooms.createRoom({ name: "binary", visibility: Visibility.PUBLIC });
    const roomId = room.room?.id ?? 0n;
    const custom = await msgs.sendCustomEvent({
      roomId,
      type: "blob",
      body: { case: "data", value: new Uint8Array([0, 255, 7]) },
      clientMsgId: "bin-1",
    });
    const got = await msgs.getMessage({ messageId: custom.message?.id ?? 0n });
    expect(got.message?.custom?.body).toEqual({ case: "data", value: new Uint8Array([0, 255, 7]) });
  });
});

// SendMessage and SendCustomEvent: storage, events, mentions, replies,
// idempotency (sequential and concurrent retries) and input checks that
// must write nothing.
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CustomPayloadSchema, MessageKind } from "../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventAt, roomSnapshot } from "../support/rows.js";
import { newRoom, newUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

let seqCounter = 0;
const cid = () => `c-${Date.now().toString(36)}-${++seqCounter}`;

describe("SendMessage", () => {
  it("stores a trimmed text message at the next seq with its event and room preview", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const before = await roomSnapshot(env, roomId);
    const res = await owner.msgs.sendMessage({
      roomId,
      text: "  hello world \n",
      clientMsgId: cid(),
    });
    const m = res.message;
    expect(res.duplicate).toBe(false);
    expect(m?.text).toBe("hello world");
    expect(m?.kind).toBe(MessageKind.TEXT);
    expect(m?.senderId).toBe(owner.id);
    expect(m?.seq).toBe(before.lastSeq + 1n);
    expect(m?.createTime).toBeDefined();
    expect(m?.deleted).toBe(false);
    const after = await roomSnapshot(env, roomId);
    expect(after.lastSeq).toBe(before.lastSeq + 1n);
    expect(after.messages).toBe(before.messages + 1);
    const { row, event } = await eventAt(env, roomId, after.lastSeq);
    expect(row.type).toBe("messageCreated");
    expect(row.actorId).toBe(owner.id);
    expect(event.change.case).toBe("messageCreated");
    if (event.change.case === "messageCreated") {
      expect(event.change.value.message?.id).toBe(m?.id);
      expect(event.change.value.message?.text).toBe("hello world");
    }
    const room = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
    expect(room.lastMessageId).toBe(m?.id);
  });

  it("resolves @mentions of current members only, case-insensitively, once each", async () => {
    const owner = await newUser(transport);
    const ann = await newUser(transport);
    const bob = await newUser(transport);
    const outsider = await newUser(transport);
    const roomId = await newRoom(owner, [ann, bob]);
    const text =
      `hi @${ann.username.toUpperCase()} and @${bob.username}. also @${ann.username}, ` +
      `@${outsider.username} @nobody_at_all mail@${bob.username}x.com`;
    const res = await owner.msgs.sendMessage({ roomId, text, clientMsgId: cid() });
    const expected = [ann.id, bob.id].sort((a, b) => (a < b ? -1 : 1));
    expect(res.message?.mentionIds).toEqual(expected);
    const rows = await env.prisma.mention.findMany({ where: { messageId: res.message?.id } });
    expect(rows.map((r) => r.userId).sort((a, b) => (a < b ? -1 : 1))).toEqual(expected);
    expect(rows.every((r) => r.seq === res.message?.seq && r.roomId === roomId)).toBe(true);
    const got = await ann.msgs.getMessage({ messageId: res.message?.id ?? 0n });
    expect(got.message?.mentionIds).toEqual(expected);
  });

  it("replies carry a preview of the parent (cut to 200 characters) and must be in the same room", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const otherRoom = await newRoom(owner);
    const long = `${"😀".repeat(150)}${"x".repeat(100)}`;
    const parent = await owner.msgs.sendMessage({ roomId, text: long, clientMsgId: cid() });
    const reply = await owner.msgs.sendMessage({
      roomId,
      text: "reply",
      clientMsgId: cid(),
      replyToId: parent.message?.id ?? 0n,
    });
    const preview = reply.message?.replyTo;
    expect(preview?.messageId).toBe(parent.message?.id);
    expect(preview?.seq).toBe(parent.message?.seq);
    expect(preview?.senderId).toBe(owner.id);
    expect([...(preview?.text ?? "")].length).toBe(200);
    expect(preview?.text).toBe(`${"😀".repeat(150)}${"x".repeat(50)}`);
    expect(preview?.deleted).toBe(false);

    await owner.msgs.deleteMessage({ messageId: parent.message?.id ?? 0n });
    const again = await owner.msgs.getMessage({ messageId: reply.message?.id ?? 0n });
    expect(again.message?.replyTo?.deleted).toBe(true);
    expect(again.message?.replyTo?.text).toBe("");
    // Replying to a deleted message of the room is allowed.
    await owner.msgs.sendMessage({
      roomId,
      text: "to a tombstone",
      clientMsgId: cid(),
      replyToId: parent.message?.id ?? 0n,
    });

    const foreign = await owner.msgs.sendMessage({
      roomId: otherRoom,
      text: "x",
      clientMsgId: cid(),
    });
    const before = await roomSnapshot(env, roomId);
    for (const replyToId of [foreign.message?.id ?? 0n, 999_999_999n]) {
      const err = await expectCode(
        owner.msgs.sendMessage({ roomId, text: "bad reply", clientMsgId: cid(), replyToId }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual(["reply_to_id"]);
    }
    expect(await roomSnapshot(env, roomId)).toEqual(before);
  });

  it("rejects bad text and writes nothing", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    await owner.msgs.sendMessage({ roomId, text: "first", clientMsgId: cid() });
    const before = await roomSnapshot(env, roomId);
    const cases: [string, string][] = [
      ["   \n\t ", "text"],
      ["", "text"],
      ["a".repeat(4001), "text"],
      ["nul\u0000byte", "text"],
    ];
    // (Unpaired surrogates cannot even be encoded in binary protobuf; the
    // HTTP test sends them as JSON.)
    for (const [text, field] of cases) {
      const err = await expectCode(
        owner.msgs.sendMessage({ roomId, text, clientMsgId: cid() }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual([field]);
    }
    for (const clientMsgId of ["", "has space", "x".repeat(65), "ümlaut"]) {
      const err = await expectCode(
        owner.msgs.sendMessage({ roomId, text: "ok", clientMsgId }),
        Code.InvalidArgument,
      );
      expect(new Set(badFields(err))).toEqual(new Set(["client_msg_id"]));
    }
    await expectCode(
      owner.msgs.sendMessage({ roomId: 0n, text: "ok", clientMsgId: cid() }),
      Code.InvalidArgument,
    );
    await expectCode(
      owner.msgs.sendMessage({ roomId: 999_999_999n, text: "ok", clientMsgId: cid() }),
      Code.NotFound,
    );
    expect(await roomSnapshot(env, roomId)).toEqual(before);
    // 4000 characters of astral emoji are fine (characters, not UTF-16 units).
    const res = await owner.msgs.sendMessage({
      roomId,
      text: "😀".repeat(4000),
      clientMsgId: cid(),
    });
    expect([...(res.message?.text ?? "")].length).toBe(4000);
  });

  it("is idempotent per sender, room and client_msg_id", async () => {
    const owner = await newUser(transport);
    const other = await newUser(transport);
    const roomId = await newRoom(owner, [other]);
    const key = cid();
    const first = await owner.msgs.sendMessage({ roomId, text: "once", clientMsgId: key });
    const before = await roomSnapshot(env, roomId);
    const retry = await owner.msgs.sendMessage({
      roomId,
      text: "different body",
      clientMsgId: key,
    });
    expect(retry.duplicate).toBe(true);
    expect(retry.message?.id).toBe(first.message?.id);
    expect(retry.message?.seq).toBe(first.message?.seq);
    expect(retry.message?.text).toBe("once");
    expect(await roomSnapshot(env, roomId)).toEqual(before);
    // The same key from another sender, or in another room, is a new message.
    const theirs = await other.msgs.sendMessage({ roomId, text: "mine", clientMsgId: key });
    expect(theirs.duplicate).toBe(false);
    const room2 = await newRoom(owner);
    const elsewhere = await owner.msgs.sendMessage({ roomId: room2, text: "x", clientMsgId: key });
    expect(elsewhere.duplicate).toBe(false);
    // A retry after an edit returns the current state.
    await owner.msgs.editMessage({ messageId: first.message?.id ?? 0n, text: "edited" });
    const late = await owner.msgs.sendMessage({ roomId, text: "once", clientMsgId: key });
    expect(late.duplicate).toBe(true);
    expect(late.message?.text).toBe("edited");
  });

  it("stores one message for 20 concurrent identical sends", async () => {
    const owner = await newUser(transport);
    const roomId = await newRoom(owner);
    const before = await roomSnapshot(env, roomId);
    const key = cid();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        owner.msgs.sendMessage({ roomId, text: "racing", clientMsgId: key }),
      ),
    );
    const ids = new Set(results.map((r) => r.message?.id));
    const seqs = new Set(results.map((r) => r.message?.seq));
    expect(ids.size).toBe(1);
    expect(seqs.size).toBe(1);
    expect(results.filter((r) => r.duplicate)).toHaveLength(19);
    const after = await roomSnapshot(env, roomId);
    expect(after.messages).toBe(before.messages + 1);
    expect(after.events).toBe(before.events + 1);
    expect(after.lastSeq).toBe(before.lastSeq + 1n);
    expect(
      await env.prisma.message.count({ where: { roomId, senderId: owner.id, clientMsgId: key } }),
    ).toBe(1);
  });
});

describe("SendCustomEvent", () => {
  it("lets owners and admins post JSON or bytes, stored as CUSTOM and delivered as message_created", async () => {
    const owner = await newUser(transport);
    const admin = await newUser(transport);
    const member = await newUser(transport);
    const roomId = await newRoom(owner, [admin, member]);
    await owner.rooms.setMemberRole({ roomId, userId: admin.id, role: MemberRole.ADMIN });

    const res = await owner.msgs.sendCustomEvent({
      roomId,
      type: "lucky-money",
      body: { case: "json", value: '{"amount": 8}' },
      clientMsgId: cid(),
    });
    const m = res.message;
    expect(m?.kind).toBe(MessageKind.CUSTOM);
    expect(m?.text).toBe("");
    expect(m?.custom?.type).toBe("lucky-money");
    expect(m?.custom?.body).toEqual({ case: "json", value: '{"amount": 8}' });
    const row = await env.prisma.message.findUniqueOrThrow({ where: { id: m?.id ?? 0n } });
    expect(row.kind).toBe("CUSTOM");
    expect(fromBinary(CustomPayloadSchema, row.payload ?? new Uint8Array()).type).toBe(
      "lucky-money",
    );
    const { event } = await eventAt(env, roomId, m?.seq ?? 0n);
    expect(event.change.case).toBe("messageCreated");

    const bytes = await admin.msgs.sendCustomEvent({
      roomId,
      type: "blob.v1",
      body: { case: "data", value: new Uint8Array([1, 2, 3]) },
      clientMsgId: cid(),
    });
    expect(bytes.message?.custom?.body).toEqual({ case: "data", value: new Uint8Array([1, 2, 3]) });

    const listed = await member.msgs.listMessages({ roomId });
    expect(listed.messages.at(-1)?.custom?.type).toBe("blob.v1");

    // Idempotent like SendMessage.
    const key = cid();
    const a = await admin.msgs.sendCustomEvent({
      roomId,
      type: "t",
      body: { case: "json", value: "1" },
      clientMsgId: key,
    });
    const b = await admin.msgs.sendCustomEvent({
      roomId,
      type: "t",
      body: { case: "json", value: "1" },
      clientMsgId: key,
    });
    expect(b.duplicate).toBe(true);
    expect(b.message?.id).toBe(a.message?.id);
  });

  it("refuses members, bad JSON and a missing body, writing nothing", async () => {
    const owner = await newUser(transport);
    const member = await newUser(transport);
    const roomId = await newRoom(owner, [member]);
    const before = await roomSnapshot(env, roomId);
    await expectCode(
      member.msgs.sendCustomEvent({
        roomId,
        type: "x",
        body: { case: "json", value: "{}" },
        clientMsgId: cid(),
      }),
      Code.PermissionDenied,
    );
    for (const value of ["{", "", "{'a':1}", "nul\u0000"]) {
      const err = await expectCode(
        owner.msgs.sendCustomEvent({
          roomId,
          type: "x",
          body: { case: "json", value },
          clientMsgId: cid(),
        }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual(["json"]);
    }
    const err = await expectCode(
      owner.msgs.sendCustomEvent({ roomId, type: "x", clientMsgId: cid() }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["body"]);
    await expectCode(
      owner.msgs.sendCustomEvent({
        roomId,
        type: "bad type!",
        body: { case: "json", value: "{}" },
        clientMsgId: cid(),
      }),
      Code.InvalidArgument,
    );
    await expectCode(
      owner.msgs.sendCustomEvent({
        roomId,
        type: "big",
        body: { case: "data", value: new Uint8Array(8193) },
        clientMsgId: cid(),
      }),
      Code.InvalidArgument,
    );
    expect(await roomSnapshot(env, roomId)).toEqual(before);
  });
});

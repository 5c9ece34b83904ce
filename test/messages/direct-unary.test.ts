/**
 * The direct unary path (server/rpc/direct/direct-unary.ts) on a real
 * server: every wire format it takes answers successes and failures as
 * connect-node does, byte for byte where the bytes can be compared (a second
 * server with the path off, RPC_DIRECT_UNARY=false); the requests it must
 * not take (compressed, GET, public procedures) still work
 * through connect-node. The log line's `path` tells which path served.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { MessageService, SendMessageRequestSchema } from "../../gen/chat/v1/message_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { authed, httpTransport } from "../support/clients.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { captureLogs, startServer, type TestServer } from "../support/server.js";
import { newRoom, roomOfTwo, type TestUser } from "../support/users.js";

const { logger, lines: logs } = captureLogs();
const { env, server } = setupTestEnv({ instances: 0, server: { logger } });
let plain: TestServer;
let alice: TestUser;
let room: bigint;
beforeAll(async () => {
  plain = await startServer(env, { directUnary: false, logger: captureLogs().logger });
  ({ alice, room } = await roomOfTwo(httpTransport(server.url), "unary"));
});

/** The path of the last log line of `procedure`. */
function lastPath(procedure: string): unknown {
  const line = logs.filter((l) => l.procedure === procedure).at(-1);
  expect(line, procedure).toBeDefined();
  return line?.path;
}

const transports: [string, string, (url: string) => Transport][] = [
  [
    "Connect proto, HTTP/1.1",
    "connect",
    (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true }),
  ],
  [
    "Connect JSON, HTTP/1.1",
    "connect",
    (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
  ],
  [
    "Connect proto, HTTP/2",
    "connect",
    (url) => createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
  ],
  ["gRPC proto", "grpc", (url) => createGrpcTransport({ baseUrl: url })],
  ["gRPC JSON", "grpc", (url) => createGrpcTransport({ baseUrl: url, useBinaryFormat: false })],
  [
    "gRPC-Web proto, HTTP/1.1",
    "grpc-web",
    (url) => createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" }),
  ],
  [
    "gRPC-Web JSON, HTTP/2",
    "grpc-web",
    (url) => createGrpcWebTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: false }),
  ],
];

describe("direct unary path", () => {
  it.each(transports)(
    "%s: sends, reads and fails like connect-node",
    async (label, protocol, make) => {
      const name = label.replace(/[^A-Za-z0-9]+/g, "-");
      const msgs = authed(MessageService, make(server.url), alice.token);
      const sent = await msgs.sendMessage({
        roomId: room,
        text: `over ${name}`,
        clientMsgId: name,
      });
      expect(sent.message?.text).toBe(`over ${name}`);
      expect(lastPath("chat.v1.MessageService/SendMessage")).toBe("direct");
      const line = logs.filter((l) => l.procedure === "chat.v1.MessageService/SendMessage").at(-1);
      expect(line).toMatchObject({ protocol, code: "ok", userId: alice.id.toString() });

      // The same client message id: the same message (idempotent), on the direct path too.
      const again = await msgs.sendMessage({ roomId: room, text: "other", clientMsgId: name });
      expect(again.message?.id).toBe(sent.message?.id);

      const page = await msgs.listMessages({ roomId: room, limit: 1 });
      expect(page.messages.map((m) => m.text)).toEqual([`over ${name}`]);

      // Validation (interceptor), domain rules (handler), masking: same codes and details.
      const empty = await expectCode(
        msgs.sendMessage({ roomId: room, text: "", clientMsgId: `${name}-x` }),
        Code.InvalidArgument,
      );
      expect(badFields(empty)).toEqual(["text"]);
      expect(lastPath("chat.v1.MessageService/SendMessage")).toBe("direct");
      await expectCode(
        msgs.sendMessage({ roomId: 999_999_999n, text: "x", clientMsgId: `${name}-y` }),
        Code.NotFound,
      );
    },
  );

  it("answers exactly what connect-node answers, success and failure, on Connect unary", async () => {
    const calls: [string, string, string, Blob | string][] = [
      ["GetMe JSON", "/chat.v1.UserService/GetMe", "application/json", "{}"],
      [
        "SendMessage empty text",
        "/chat.v1.MessageService/SendMessage",
        "application/json",
        JSON.stringify({ roomId: room.toString(), text: "", clientMsgId: "cmp" }),
      ],
      [
        "malformed proto",
        "/chat.v1.MessageService/SendMessage",
        "application/proto",
        new Blob([new Uint8Array([0x0a, 0xff])]),
      ],
      ["malformed JSON", "/chat.v1.UserService/GetMe", "application/json", "{"],
      [
        "unknown room",
        "/chat.v1.MessageService/GetMessage",
        "application/json",
        JSON.stringify({ roomId: "424242", seq: "1" }),
      ],
    ];
    for (const [name, path, type, body] of calls) {
      const answer = async (url: string) => {
        const res = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { "content-type": type, authorization: `Bearer ${alice.token}` },
          body,
        });
        return {
          status: res.status,
          type: res.headers.get("content-type"),
          body: await res.text(),
        };
      };
      const direct = await answer(server.url);
      const viaConnect = await answer(plain.url);
      expect(direct, name).toEqual(viaConnect);
      expect(lastPath(path.slice(1))).toBe("direct");
    }
  });

  it("answers a malformed gRPC-Web envelope with InvalidArgument and logs it", async () => {
    const res = await fetch(`${server.url}/chat.v1.MessageService/SendMessage`, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        authorization: `Bearer ${alice.token}`,
      },
      body: new Blob([new Uint8Array([0, 0, 0, 0, 9, 1])]),
    });
    expect(res.status).toBe(200);
    const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
    expect(text).toContain("grpc-status: 3");
    const line = logs.filter((l) => l.procedure === "chat.v1.MessageService/SendMessage").at(-1);
    expect(line).toMatchObject({ code: "InvalidArgument", protocol: "grpc-web" });
  });

  it("refuses a body over the size limit with ResourceExhausted", async () => {
    const big = toBinary(
      SendMessageRequestSchema,
      create(SendMessageRequestSchema, {
        roomId: room,
        text: "x".repeat(1_100_000),
        clientMsgId: "big",
      }),
    );
    const res = await fetch(`${server.url}/chat.v1.MessageService/SendMessage`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: `Bearer ${alice.token}` },
      body: new Blob([big]),
    });
    expect(res.status).toBe(429);
    expect((await res.json()).code).toBe("resource_exhausted");
  });

  it("leaves compressed calls and public ones to connect-node; takes deadline-bound ones", async () => {
    const gz = createClient(
      MessageService,
      createConnectTransport({
        baseUrl: server.url,
        httpVersion: "1.1",
        sendCompression: compressionGzip,
        compressMinBytes: 0,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${alice.token}`);
            return next(req);
          },
        ],
      }),
    );
    const zipped = await gz.sendMessage({
      roomId: room,
      text: "zipped ".repeat(50),
      clientMsgId: "gz",
    });
    expect(zipped.message?.senderId).toBe(alice.id);
    expect(lastPath("chat.v1.MessageService/SendMessage")).toBeUndefined();

    const users = authed(UserService, createGrpcTransport({ baseUrl: server.url }), alice.token);
    expect((await users.getMe({}, { timeoutMs: 5_000 })).user?.id).toBe(alice.id);
    expect(lastPath("chat.v1.UserService/GetMe")).toBe("direct");

    const open = createClient(UserService, httpTransport(server.url));
    const e = await expectCode(open.getMe({}), Code.Unauthenticated);
    expect(e).toBeInstanceOf(ConnectError);
    expect(lastPath("chat.v1.UserService/GetMe")).toBeUndefined();
  });

  it("ends the call's signal when the client goes away, and logs it", async () => {
    // A send to a room nobody else writes completes fast; what matters is that an aborted
    // client leaves one log line and no unhandled error.
    const controller = new AbortController();
    const msgs = authed(MessageService, httpTransport(server.url), alice.token);
    const other = await newRoom(alice);
    const call = msgs.sendMessage(
      { roomId: other, text: "gone", clientMsgId: "gone" },
      { signal: controller.signal },
    );
    controller.abort();
    await expect(call).rejects.toThrow();
    const page = await msgs.listMessages({ roomId: other, limit: 5 });
    expect(page.messages.length).toBeLessThanOrEqual(1);
  });
});

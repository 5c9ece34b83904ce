/**
 * The live feed through clients we do not write: the `buf curl` CLI
 * (Connect and gRPC, schema through reflection), the @grpc/grpc-js client
 * (server stream and bidi), and @connectrpc/connect-web's Connect and
 * gRPC-Web transports on Node's fetch. Each one sees `ready` and then a
 * message sent while it listens.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, describe as group, it } from "vitest";
import {
  type ChatRequest,
  ChatRequestSchema,
  type ChatResponse,
  ChatResponseSchema,
  FeedService,
  type SubscribeRequest,
  SubscribeRequestSchema,
  type SubscribeResponse,
  SubscribeResponseSchema,
} from "../../gen/chat/v1/feed_pb.js";
import { authed, httpTransport } from "../support/clients.js";
import { describe, describeChat, evOf, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { roomOfTwo, send, type TestUser } from "../support/users.js";

const buf = resolve("node_modules/.bin/buf");

const { env, server } = setupTestEnv({ redis: true, instances: 0, server: true });
let alice: TestUser;
let bob: TestUser;
let room: bigint;
beforeAll(async () => ({ alice, bob, room } = await roomOfTwo(httpTransport(server.url), "ext")));

/** Resolves once `check` accepts the output so far (or rejects on timeout/exit). */
function waitForOutput(
  child: ChildProcess,
  out: { text: string },
  check: (s: string) => boolean,
  ms: number,
) {
  return new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms; output so far:\n${out.text}`));
    }, ms);
    const onData = () => {
      if (check(out.text)) {
        cleanup();
        resolvePromise();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`buf curl exited (${code}) early; output:\n${out.text}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.on("exit", onExit);
    onData();
  });
}

group("buf curl", () => {
  it.each([
    ["connect", ["--protocol", "connect", "--http2-prior-knowledge"]],
    ["grpc", ["--protocol", "grpc", "--http2-prior-knowledge"]],
  ])(
    "streams Subscribe over %s until a message sent meanwhile arrives",
    async (protocol, flags) => {
      const child = spawn(
        buf,
        [
          "curl",
          ...flags,
          "-H",
          `Authorization: Bearer ${alice.token}`,
          "-d",
          '{"positions":[]}',
          `${server.url}/chat.v1.FeedService/Subscribe`,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const out = { text: "" };
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out.text += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        err += d;
      });
      try {
        await waitForOutput(child, out, (s) => s.includes('"ready"'), 15_000);
        // ready lists the room with its last_seq (uint64 as a JSON string).
        expect(out.text).toContain(`"roomId": "${room}"`);
        const text = `hello buf curl over ${protocol}`;
        const seq = await send(bob, room, text);
        await waitForOutput(child, out, (s) => s.includes(text), 10_000);
        expect(out.text).toContain(`"seq": "${seq}"`);
        expect(out.text).toContain('"messageCreated"');
        expect(err).toBe("");
      } finally {
        child.kill("SIGTERM");
      }
    },
  );
});

group("@grpc/grpc-js", () => {
  let client: grpc.Client;
  beforeAll(() => {
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => client.close());

  const metadata = (token: string) => {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${token}`);
    return md;
  };

  it("server stream: Subscribe gets ready, then a live message; cancel ends it", async () => {
    const call = client.makeServerStreamRequest<SubscribeRequest, SubscribeResponse>(
      "/chat.v1.FeedService/Subscribe",
      (v) => Buffer.from(toBinary(SubscribeRequestSchema, v)),
      (b) => fromBinary(SubscribeResponseSchema, b),
      create(SubscribeRequestSchema, { positions: [{ roomId: room, lastSeq: 0n }] }),
      metadata(alice.token),
    );
    const got: string[] = [];
    let notify = () => {};
    call.on("data", (r: SubscribeResponse) => {
      const ev = evOf(r);
      if (ev.case !== "heartbeat" && ev.case !== "presence" && ev.case !== "roomStats")
        got.push(describe(ev));
      notify();
    });
    const ended = new Promise<grpc.ServiceError | undefined>((res) => {
      call.on("error", (e: grpc.ServiceError) => res(e));
      call.on("end", () => res(undefined));
    });
    const waitFor = (label: string) =>
      new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no ${label} in ${got.join(" | ")}`)), 10_000);
        notify = () => {
          if (got.includes(label)) {
            clearTimeout(timer);
            res();
          }
        };
        notify();
      });
    try {
      await waitFor(`${room}:1:membersAdded:${alice.id}+${bob.id}`);
      const seq = await send(bob, room, "hello grpc-js");
      await waitFor(`${room}:${seq}:messageCreated:hello grpc-js`);
      expect(got[0]).toMatch(/^ready /);
      expect(got.slice(1, 2)).toEqual([`${room}:1:membersAdded:${alice.id}+${bob.id}`]);
    } finally {
      call.cancel();
    }
    const end = await ended;
    expect(end?.code).toBe(grpc.status.CANCELLED);
  });

  it("server stream: a bad token ends with UNAUTHENTICATED", async () => {
    const call = client.makeServerStreamRequest<SubscribeRequest, SubscribeResponse>(
      "/chat.v1.FeedService/Subscribe",
      (v) => Buffer.from(toBinary(SubscribeRequestSchema, v)),
      (b) => fromBinary(SubscribeResponseSchema, b),
      create(SubscribeRequestSchema),
      metadata("not-a-token"),
    );
    const data: unknown[] = [];
    call.on("data", (d) => data.push(d));
    const err = await new Promise<grpc.ServiceError>((res, rej) => {
      call.on("error", res);
      call.on("end", () => rej(new Error("ended without error")));
    });
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(data).toEqual([]);
  });

  it("bidi: Chat answers commands and carries events", async () => {
    const call = client.makeBidiStreamRequest<ChatRequest, ChatResponse>(
      "/chat.v1.FeedService/Chat",
      (v) => Buffer.from(toBinary(ChatRequestSchema, v)),
      (b) => fromBinary(ChatResponseSchema, b),
      metadata(alice.token),
    );
    const got: string[] = [];
    let notify = () => {};
    call.on("data", (r: ChatResponse) => {
      const label = describeChat(r);
      if (!/^(heartbeat|presence|roomStats)/.test(label)) got.push(label);
      notify();
    });
    call.on("error", () => {});
    const waitFor = (pred: (l: string) => boolean, what: string) =>
      new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no ${what} in ${got.join(" | ")}`)), 10_000);
        notify = () => {
          if (got.some(pred)) {
            clearTimeout(timer);
            res();
          }
        };
        notify();
      });
    try {
      call.write(
        create(ChatRequestSchema, { requestId: "sub", command: { case: "subscribe", value: {} } }),
      );
      await waitFor((l) => l === "ack sub", "subscribe ack");
      expect(got.filter((l) => l.startsWith("ready"))).toEqual([
        `ready ${room}@${await roomSeq()}`,
      ]);
      call.write(
        create(ChatRequestSchema, {
          requestId: "send",
          command: {
            case: "sendMessage",
            value: { roomId: room, text: "from grpc-js chat", clientMsgId: "gjs-1" },
          },
        }),
      );
      await waitFor((l) => l.endsWith(":messageCreated:from grpc-js chat"), "own message event");
      await waitFor((l) => l === "ack send sendMessage", "send ack");
      call.write(
        create(ChatRequestSchema, {
          requestId: "bad",
          command: { case: "sendMessage", value: { roomId: room, text: "", clientMsgId: "gjs-2" } },
        }),
      );
      await waitFor((l) => l === "error bad invalid_argument", "command error");
      call.write(
        create(ChatRequestSchema, { requestId: "ping", command: { case: "ping", value: {} } }),
      );
      await waitFor((l) => l === "ack ping", "ping ack");
      const seq = await send(bob, room, "to grpc-js chat");
      await waitFor((l) => l === `${room}:${seq}:messageCreated:to grpc-js chat`, "live event");
    } finally {
      call.cancel();
    }
  });
});

async function roomSeq(): Promise<bigint> {
  return (await env.prisma.room.findUniqueOrThrow({ where: { id: room } })).lastSeq;
}

group("@connectrpc/connect-web on Node's fetch", () => {
  const webTransports: [string, () => Transport][] = [
    ["Connect", () => createConnectTransport({ baseUrl: server.url })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: server.url })],
  ];
  it.each(webTransports)("%s: subscribes and receives a live message", async (name, make) => {
    const feed = FeedReader.open(authed(FeedService, make(), alice.token));
    try {
      const ready = await feed.ready();
      expect(ready.rooms.map((r) => r.roomId)).toEqual([room]);
      const text = `hello ${name} web`;
      const seq = await send(bob, room, text);
      expect(describe(await feed.next())).toBe(`${room}:${seq}:messageCreated:${text}`);
    } finally {
      feed.close();
    }
  });
});

/**
 * Hostile and broken clients against the real server on port 0, with short
 * limits set here: calls without a token are refused before their body is
 * read; slow bodies, idle HTTP/2 sessions and idle keep-alive connections
 * are closed within their timeouts while live feeds outlive them all; the
 * per-session stream cap, the connection cap and the cap on streams without
 * a token hold; malformed protobuf answers InvalidArgument on every
 * protocol; a bad %-escape answers 400; the web page carries its security
 * headers. Raw sockets and raw HTTP/2 frames do what real clients will not.
 */
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { SendMessageRequestSchema } from "../../gen/chat/v1/message_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { type ChatServer, createChatServer, type ServerLimits } from "../../server/app.js";
import { authed, httpTransport } from "../support/clients.js";
import { createTestEnv, inMemoryTransport, type TestEnv } from "../support/env.js";
import { expectCode, reasonOf } from "../support/errors.js";
import { ChatStream, describe as describeEv, FeedReader } from "../support/feed.js";
import { captureLogs, startServer } from "../support/server.js";
import { sleep } from "../support/timing.js";
import { roomOfTwo, send, type TestUser } from "../support/users.js";
import {
  FrameType,
  frame,
  H2_PREFACE,
  parseFrames,
  postHeaders,
  RawConnection,
  settingsOf,
} from "./raw.js";

const limits: Partial<ServerLimits> = {
  headersTimeoutMs: 600,
  bodyIdleTimeoutMs: 500,
  requestTimeoutMs: 1_500,
  keepAliveTimeoutMs: 700,
  sessionIdleTimeoutMs: 800,
  maxConcurrentStreams: 5,
  maxUnauthenticatedStreams: 3,
};

let env: TestEnv;
let server: ChatServer;
let url: string;
let port: number;
let webDir: string;
let alice: TestUser;
let bob: TestUser;
let room: bigint;
const { logger, lines: logs } = captureLogs();

beforeAll(async () => {
  env = await createTestEnv();
  webDir = mkdtempSync(join(tmpdir(), "hostile-web-"));
  mkdirSync(join(webDir, "assets"));
  writeFileSync(join(webDir, "index.html"), "<!doctype html><title>t</title>");
  writeFileSync(join(webDir, "assets", "app-1234.js"), "console.log(1)");
  ({ server, url, port } = await startServer(env, {
    logger,
    feed: { heartbeatMs: 200 },
    limits,
    webDir,
    avatarHosts: ["images.example.com"],
  }));
  ({ alice, bob, room } = await roomOfTwo(httpTransport(url), "hostile"));
});
afterAll(async () => {
  await env.close();
  rmSync(webDir, { recursive: true, force: true });
});

/** Log lines of calls to `procedure` (as `Service/Method`). */
function linesOf(procedure: string): Record<string, unknown>[] {
  return logs.filter((l) => l.msg === "rpc" && l.procedure === procedure);
}

/** Log lines at level error or above (pino: 50). */
function errorLines(): Record<string, unknown>[] {
  return logs.filter((l) => Number(l.level) >= 50);
}

async function eventuallyTrue(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** An HTTP/1.1 request head. */
function head(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${lines.join("")}\r\n`;
}

/** One gRPC / gRPC-Web envelope around `payload`. */
function envelope(payload: Uint8Array, flags = 0): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = flags;
  b.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(b, 5);
  return b;
}

const tenMiB = 10 * 1024 * 1024;

describe("calls without a token are refused before their body is read", () => {
  it("HTTP/1.1: 401 (or the stream's end) while the client is still sending, then the connection closes", async () => {
    const cases = [
      {
        path: "/chat.v1.MessageService/SendMessage",
        contentType: "application/proto",
        expect: (t: string) => {
          expect(t).toMatch(/^HTTP\/1\.1 401 /);
          const body = JSON.parse(t.slice(t.indexOf("\r\n\r\n") + 4)) as {
            code: string;
            details: { type: string }[];
          };
          expect(body.code).toBe("unauthenticated");
          expect(body.details[0]?.type).toBe("google.rpc.ErrorInfo");
        },
      },
      {
        // The direct Subscribe path.
        path: "/chat.v1.FeedService/Subscribe",
        contentType: "application/connect+proto",
        expect: (t: string) => {
          expect(t).toMatch(/^HTTP\/1\.1 200 /);
          expect(t).toContain('"code":"unauthenticated"');
        },
      },
      {
        path: "/chat.v1.UserService/GetMe",
        contentType: "application/grpc-web+proto",
        expect: (t: string) => {
          expect(t).toMatch(/^HTTP\/1\.1 200 /);
          expect(t).toContain("grpc-status: 16");
        },
      },
    ];
    for (const c of cases) {
      const conn = await RawConnection.open(port);
      conn.write(head("POST", c.path, { "content-type": c.contentType, "content-length": tenMiB }));
      conn.write(Buffer.alloc(64 * 1024, 7));
      // The answer comes although 10 MiB minus 64 KiB are still to come...
      await conn.until((x) => x.closed, 5_000, `the refusal of ${c.path}`);
      c.expect(conn.text);
      expect(conn.text.toLowerCase(), c.path).toContain("connection: close");
      // ...and nothing more is read: the server has closed the connection.
      conn.destroy();
    }
  });

  it("HTTP/1.1 `Expect: 100-continue`: a stranger gets the refusal instead of 100, a caller with a token gets 100", async () => {
    const msg = toBinary(
      SendMessageRequestSchema,
      create(SendMessageRequestSchema, { roomId: room, text: "after 100", clientMsgId: "c100" }),
    );
    const headers = {
      "content-type": "application/proto",
      "content-length": msg.length,
      expect: "100-continue",
    };
    const stranger = await RawConnection.open(port);
    stranger.write(head("POST", "/chat.v1.MessageService/SendMessage", headers));
    await stranger.until((x) => x.closed, 5_000, "the refusal");
    expect(stranger.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(stranger.text).not.toContain("100 Continue");

    const member = await RawConnection.open(port);
    member.write(
      head("POST", "/chat.v1.MessageService/SendMessage", {
        ...headers,
        authorization: `Bearer ${alice.token}`,
      }),
    );
    await member.until((x) => x.text.includes("100 Continue"), 5_000, "100 Continue");
    member.write(msg);
    await member.until((x) => /HTTP\/1\.1 200 /.test(x.text), 5_000, "the answer");
    member.destroy();
  });

  it("HTTP/2: the status comes while the body is still open, then the stream is reset with NO_ERROR", async () => {
    const session = http2.connect(url);
    try {
      for (const [path, contentType] of [
        ["/chat.v1.MessageService/SendMessage", "application/grpc"],
        ["/chat.v1.FeedService/Subscribe", "application/grpc"],
        ["/chat.v1.FeedService/Chat", "application/grpc"],
      ] as const) {
        const req = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": contentType,
        });
        req.on("error", () => {});
        req.write(Buffer.alloc(32 * 1024, 7)); // never ended
        const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
        expect(headers["grpc-status"], path).toBe("16");
        if (!req.closed) await once(req, "close");
        expect(req.rstCode, path).toBe(http2.constants.NGHTTP2_NO_ERROR);
      }
    } finally {
      session.close();
    }
  });

  it("answers exactly as the auth interceptor does, on every protocol, with one log line each", async () => {
    // The interceptor's own answer, on the in-memory transport (no pre-check there).
    const reference = await expectCode(
      createClient(UserService, inMemoryTransport(env)).getMe({}),
      Code.Unauthenticated,
    );
    const transports: [string, Transport][] = [
      ["Connect HTTP/1.1", createConnectTransport({ baseUrl: url, httpVersion: "1.1" })],
      ["Connect h2c", createConnectTransport({ baseUrl: url, httpVersion: "2" })],
      ["gRPC", createGrpcTransport({ baseUrl: url })],
      ["gRPC-Web", createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })],
    ];
    const before = linesOf("chat.v1.UserService/GetMe").length;
    for (const [name, t] of transports) {
      const err = await expectCode(createClient(UserService, t).getMe({}), Code.Unauthenticated);
      expect(err.rawMessage, name).toBe(reference.rawMessage);
      expect(reasonOf(err), name).toBe(reasonOf(reference));
      // Connect's streaming shape (a compressed Subscribe goes through connect-node) and bidi.
      const sub = FeedReader.open(
        createClient(
          FeedService,
          name.startsWith("gRPC")
            ? t
            : createConnectTransport({
                baseUrl: url,
                httpVersion: name.includes("h2c") ? "2" : "1.1",
                sendCompression: compressionGzip,
              }),
        ),
      );
      const subErr = (await sub.error()).error;
      expect(Code[subErr.code], name).toBe("Unauthenticated");
      expect(reasonOf(subErr), name).toBe(reasonOf(reference));
    }
    const chat = new ChatStream(createClient(FeedService, createGrpcTransport({ baseUrl: url })));
    chat.command({ case: "ping", value: {} });
    const chatErr = (await chat.reader.untilError(5_000)).error;
    expect(Code[chatErr.code]).toBe("Unauthenticated");
    expect(reasonOf(chatErr)).toBe(reasonOf(reference));
    const res = await fetch(`${url}/chat.v1.UserService/GetMe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    await eventuallyTrue(
      () => linesOf("chat.v1.UserService/GetMe").length >= before + transports.length + 1,
      2_000,
      "GetMe log lines",
    );
    const lines = linesOf("chat.v1.UserService/GetMe").slice(before);
    expect(lines).toHaveLength(transports.length + 1);
    expect(new Set(lines.map((l) => l.code))).toEqual(new Set(["Unauthenticated"]));
  });

  it("verifies the token once per call", async () => {
    const verify = vi.spyOn(server.tokens, "verify");
    try {
      for (const t of [
        createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
        createGrpcTransport({ baseUrl: url }),
      ]) {
        verify.mockClear();
        await authed(UserService, t, alice.token).getMe({});
        expect(verify).toHaveBeenCalledTimes(1);
      }
    } finally {
      verify.mockRestore();
    }
  });
});

describe("calls without a token", () => {
  it("may send at most 4 KiB: a larger Content-Length is refused at once, a longer body when it gets there", async () => {
    const conn = await RawConnection.open(port);
    conn.write(
      head("POST", "/chat.v1.AuthService/Login", {
        "content-type": "application/proto",
        "content-length": 1024 * 1024,
      }),
    );
    await conn.until((x) => x.closed, 5_000, "the refusal");
    expect(conn.text).toMatch(/^HTTP\/1\.1 429 /);
    expect(conn.text).toContain('"code":"resource_exhausted"');

    const chunked = await RawConnection.open(port);
    chunked.write(
      head("POST", "/chat.v1.AuthService/Login", {
        "content-type": "application/proto",
        "transfer-encoding": "chunked",
      }),
    );
    const part = Buffer.alloc(3 * 1024, 0x0a);
    chunked.write(`${part.length.toString(16)}\r\n`);
    chunked.write(Buffer.concat([part, Buffer.from("\r\n")]));
    chunked.write(`${part.length.toString(16)}\r\n`);
    chunked.write(Buffer.concat([part, Buffer.from("\r\n")]));
    await chunked.until((x) => x.text.includes("\r\n\r\n{"), 5_000, "the refusal");
    expect(chunked.text).toMatch(/^HTTP\/1\.1 429 /);
    chunked.destroy();
  });
});

describe("slow bodies", () => {
  it("HTTP/1.1: a body that stops arriving is answered 408 and closed after the body timeout", async () => {
    for (const [path, auth] of [
      ["/chat.v1.AuthService/Login", undefined],
      ["/chat.v1.MessageService/SendMessage", `Bearer ${alice.token}`],
    ] as const) {
      const before = linesOf(path.slice(1)).length;
      const conn = await RawConnection.open(port);
      const headers: Record<string, string | number> = {
        "content-type": "application/proto",
        "content-length": 100,
      };
      if (auth) headers.authorization = auth;
      conn.write(head("POST", path, headers));
      conn.write(Buffer.alloc(10, 0x0a));
      await conn.until((x) => x.closed, 5_000, "the body timeout");
      expect(conn.text, path).toMatch(/^HTTP\/1\.1 408 /);
      expect(conn.closedAfterMs, path).toBeGreaterThanOrEqual(450);
      await eventuallyTrue(() => linesOf(path.slice(1)).length > before, 2_000, "a log line");
      expect(
        linesOf(path.slice(1))
          .slice(before)
          .map((l) => l.code),
      ).toEqual(["DeadlineExceeded"]);
    }
  });

  it("HTTP/1.1: a body trickling in is cut at the request timeout", async () => {
    const conn = await RawConnection.open(port);
    conn.write(
      head("POST", "/chat.v1.AuthService/Login", {
        "content-type": "application/proto",
        "content-length": 1_000,
      }),
    );
    const drip = setInterval(() => conn.write(Buffer.from([0x0a])), 150);
    try {
      await conn.until((x) => x.closed, 6_000, "the request timeout");
    } finally {
      clearInterval(drip);
    }
    expect(conn.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(conn.closedAfterMs).toBeGreaterThanOrEqual(1_400);
  });

  it("HTTP/2: a stream whose body stops (or trickles) gets 408 and is closed; its session lives on", async () => {
    const session = http2.connect(url);
    session.on("error", () => {});
    try {
      for (const trickle of [false, true]) {
        const started = Date.now();
        const req = session.request({
          ":method": "POST",
          ":path": "/chat.v1.AuthService/Login",
          "content-type": "application/proto",
        });
        req.on("error", () => {});
        req.resume(); // a client that never reads never sees the stream end
        req.write(Buffer.from([0x0a]));
        const drip = trickle
          ? setInterval(() => req.writable && req.write(Buffer.from([0x0a])), 150)
          : undefined;
        try {
          const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
          expect(headers[":status"]).toBe(408);
          if (!req.closed) await once(req, "close");
        } finally {
          clearInterval(drip);
        }
        expect(Date.now() - started).toBeGreaterThanOrEqual(trickle ? 1_400 : 450);
      }
      // The session itself is fine: a normal call works on it.
      const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
      expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(session.closed).toBe(false);
    } finally {
      session.close();
    }
  });
});

describe("idle connections", () => {
  it("an HTTP/2 session that opens no stream gets GOAWAY within the header timeout", async () => {
    const conn = await RawConnection.open(port);
    conn.write(Buffer.concat([H2_PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
    await conn.until((x) => x.closed, 5_000, "the session to close");
    expect(parseFrames(conn.received).some((f) => f.type === FrameType.GOAWAY)).toBe(true);
    expect(conn.closedAfterMs).toBeGreaterThanOrEqual(550);
  });

  it("an HTTP/2 session whose streams are done is closed after the idle timeout", async () => {
    const session = http2.connect(url);
    session.on("error", () => {});
    const req = session.request({ ":path": "/healthz" });
    req.resume();
    await once(req, "end");
    const done = Date.now();
    await once(session, "close");
    expect(Date.now() - done).toBeGreaterThanOrEqual(750);
  });

  it("an idle HTTP/1.1 keep-alive connection is closed after the keep-alive timeout", async () => {
    const conn = await RawConnection.open(port);
    conn.write(head("GET", "/healthz", {}));
    await conn.until((x) => x.text.includes('"SERVING"'), 5_000, "the health answer");
    const answered = Date.now();
    await conn.until((x) => x.closed, 5_000, "the keep-alive timeout");
    expect(Date.now() - answered).toBeGreaterThanOrEqual(650);
  });

  it("keeps a connection alive after a refused call with a complete body, then closes it when idle", async () => {
    const conn = await RawConnection.open(port);
    // A call without a token and a call with a body (both complete), on one connection.
    const getMe = head("POST", "/chat.v1.UserService/GetMe", {
      "content-type": "application/json",
      "content-length": 2,
    });
    conn.write(`${getMe}{}`);
    await conn.until((x) => x.text.includes("unauthenticated"), 5_000, "the refusal");
    expect(conn.text).toMatch(/^HTTP\/1\.1 401 /);
    const body = JSON.stringify({ username: "nobody_at_all", password: "wrong password" });
    const login = head("POST", "/chat.v1.AuthService/Login", {
      "content-type": "application/json",
      "content-length": body.length,
    });
    conn.write(`${login}${body}`);
    await conn.until((x) => x.text.includes("wrong username or password"), 5_000, "the login");
    expect(conn.closed).toBe(false);
    const answered = Date.now();
    await conn.until((x) => x.closed, 5_000, "the keep-alive timeout");
    expect(Date.now() - answered).toBeGreaterThanOrEqual(650);
  });

  it("live feeds with heartbeats outlive every timeout, on the direct path and through connect-node", async () => {
    const feeds = [
      FeedReader.open(authed(FeedService, createGrpcTransport({ baseUrl: url }), bob.token)),
      FeedReader.open(authed(FeedService, httpTransport(url), bob.token)),
      FeedReader.open(
        authed(
          FeedService,
          createConnectTransport({
            baseUrl: url,
            httpVersion: "1.1",
            sendCompression: compressionGzip,
          }),
          bob.token,
        ),
      ),
    ];
    const chat = new ChatStream(
      authed(FeedService, createGrpcTransport({ baseUrl: url }), bob.token),
    );
    try {
      for (const f of feeds) await f.ready();
      chat.command({ case: "subscribe", value: { positions: [] } });
      await chat.until(
        (r) => r.response.case === "event" && r.response.value.event.case === "ready",
      );
      // Longer than the body, keep-alive, session idle and request timeouts together.
      await sleep(2_500);
      const seq = await send(alice, room, "still there");
      const want = `${room}:${seq}:messageCreated:still there`;
      for (const f of feeds) expect(describeEv(await f.next())).toBe(want);
      const got = await chat.until(
        (r) => r.response.case === "event" && r.response.value.event.case === "roomEvent",
      );
      const last = got.at(-1)?.response;
      expect(last?.case === "event" ? describeEv(last.value.event) : "").toBe(want);
    } finally {
      for (const f of feeds) f.close();
      chat.close();
    }
  });
});

describe("caps", () => {
  it("advertises and enforces the streams-per-session cap (REFUSED_STREAM beyond it)", async () => {
    const session = http2.connect(url);
    session.on("error", () => {});
    const [settings] = (await once(session, "remoteSettings")) as [http2.Settings];
    expect(settings.maxConcurrentStreams).toBe(5);
    session.close();

    // A raw client that ignores the setting: six streams that wait for their bodies.
    const conn = await RawConnection.open(port);
    const headers = { "content-type": "application/proto" };
    const frames: Buffer[] = [H2_PREFACE, frame(FrameType.SETTINGS, 0, 0)];
    for (let id = 1; id <= 11; id += 2) {
      frames.push(postHeaders(id, "/chat.v1.AuthService/Login", headers));
    }
    conn.write(Buffer.concat(frames));
    const resets = () =>
      parseFrames(conn.received)
        .filter((f) => f.type === FrameType.RST_STREAM)
        .map((f) => ({ stream: f.stream, code: f.payload.readUInt32BE(0) }));
    await conn.until((x) => x.closed || resets().length > 0, 5_000, "a refused stream");
    const serverSettings = parseFrames(conn.received).find(
      (f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 0,
    );
    expect(settingsOf(serverSettings?.payload ?? Buffer.alloc(0)).get(3)).toBe(5);
    expect(resets()).toEqual([{ stream: 11, code: http2.constants.NGHTTP2_REFUSED_STREAM }]);
    conn.destroy();
  });

  it("closes connections beyond the per-process cap at once, with one warning", async () => {
    const { logger, lines: warnings } = captureLogs("warn");
    const capped = createChatServer({
      ...env.deps,
      logger,
      limits: { maxConnections: 3, headersTimeoutMs: 5_000 },
    });
    const cappedPort = (await capped.listen(0, "127.0.0.1")).port;
    const conns: RawConnection[] = [];
    try {
      for (let i = 0; i < 3; i++) conns.push(await RawConnection.open(cappedPort));
      const extra = [await RawConnection.open(cappedPort), await RawConnection.open(cappedPort)];
      for (const x of extra) {
        await x.until((c) => c.closed, 2_000, "the refused connection to close");
        expect(x.received.length).toBe(0);
      }
      for (const c of conns) expect(c.closed).toBe(false);
      // One gone: the next is served.
      conns[0]?.destroy();
      await eventuallyTrue(() => conns[0]?.closed === true, 1_000, "the close");
      await sleep(50);
      const next = await RawConnection.open(cappedPort);
      conns.push(next);
      next.write(head("GET", "/healthz", {}));
      await next.until((c) => c.text.includes("SERVING"), 5_000, "an answer");
      expect(
        warnings.filter((w) => w.msg === "connection limit reached: refusing connections"),
      ).toHaveLength(1);
    } finally {
      for (const c of conns) c.destroy();
      await capped.shutdown(1_000);
    }
  });

  it("caps open streams without a token (Health.Watch) and says when to retry", async () => {
    const transport = createGrpcTransport({ baseUrl: url });
    const health = createClient(Health, transport);
    const watches: AbortController[] = [];
    const open = async () => {
      const ac = new AbortController();
      const it = health.watch({}, { signal: ac.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      watches.push(ac);
      return first;
    };
    try {
      for (let i = 0; i < 3; i++) expect((await open()).done).toBe(false);
      const before = linesOf("grpc.health.v1.Health/Watch").length;
      const refused = await expectCode(open(), Code.ResourceExhausted);
      expect(refused.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(5n);
      expect(
        linesOf("grpc.health.v1.Health/Watch")
          .slice(before)
          .map((l) => l.code),
      ).toEqual(["ResourceExhausted"]);
      // Calls with a token are not counted.
      const feed = FeedReader.open(authed(FeedService, transport, bob.token));
      await feed.ready();
      feed.close();
      // One closed: a new one is admitted.
      watches.shift()?.abort();
      let admitted = false;
      for (let i = 0; i < 50 && !admitted; i++) {
        admitted = await open().then(
          () => true,
          (err: unknown) => {
            if (ConnectError.from(err).code !== Code.ResourceExhausted) throw err;
            return false;
          },
        );
        if (!admitted) await sleep(50);
      }
      expect(admitted).toBe(true);
    } finally {
      for (const ac of watches) ac.abort();
    }
  });
});

describe("malformed request bodies", () => {
  const bodies: [string, Uint8Array][] = [
    ["malformed protobuf", new Uint8Array([0x0a, 0x05, 0x61])],
    ["invalid UTF-8 in a string", new Uint8Array([0x0a, 0x02, 0xc3, 0x28])],
  ];

  it.each(bodies)(
    "%s answers InvalidArgument on Connect, gRPC and gRPC-Web, with one log line",
    async (_name, body) => {
      const procedure = "chat.v1.AuthService/Login";
      const before = linesOf(procedure).length;
      const errorsBefore = errorLines().length;

      const connect = await fetch(`${url}/${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/proto" },
        body: Buffer.from(body) as unknown as BodyInit,
      });
      expect(connect.status).toBe(400);
      expect(((await connect.json()) as { code: string }).code).toBe("invalid_argument");

      const grpcWeb = await fetch(`${url}/${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto" },
        body: envelope(body) as unknown as BodyInit,
      });
      expect(Buffer.from(await grpcWeb.arrayBuffer()).toString("latin1")).toContain(
        "grpc-status: 3",
      );

      const session = http2.connect(url);
      try {
        const grpcStatus = async (path: string, auth?: string) => {
          const req = session.request({
            ":method": "POST",
            ":path": path,
            "content-type": "application/grpc",
            te: "trailers",
            ...(auth ? { authorization: auth } : {}),
          });
          req.end(envelope(body));
          req.resume();
          let status: string | undefined;
          req.on("response", (h) => {
            status ??= h["grpc-status"] as string | undefined;
          });
          req.on("trailers", (t) => {
            status ??= t["grpc-status"] as string | undefined;
          });
          await once(req, "close");
          return status;
        };
        expect(await grpcStatus(`/${procedure}`)).toBe("3");
        // A call with a token, and a streaming one (connect-node parses it inside the handler).
        expect(
          await grpcStatus("/chat.v1.MessageService/SendMessage", `Bearer ${alice.token}`),
        ).toBe("3");
        expect(await grpcStatus("/chat.v1.FeedService/Chat", `Bearer ${alice.token}`)).toBe("3");
      } finally {
        session.close();
      }
      await eventuallyTrue(() => linesOf(procedure).length >= before + 3, 2_000, "log lines");
      expect(
        linesOf(procedure)
          .slice(before)
          .map((l) => l.code),
      ).toEqual(["InvalidArgument", "InvalidArgument", "InvalidArgument"]);
      expect(errorLines().slice(errorsBefore)).toEqual([]);
    },
  );

  it("a well-formed body still works after the refusals (sanity)", async () => {
    const ok = await fetch(`${url}/chat.v1.MessageService/SendMessage`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: `Bearer ${alice.token}` },
      body: Buffer.from(
        toBinary(
          SendMessageRequestSchema,
          create(SendMessageRequestSchema, { roomId: room, text: "ok", clientMsgId: "wf1" }),
        ),
      ) as unknown as BodyInit,
    });
    expect(ok.status).toBe(200);
    expect(createClient(AuthService, httpTransport(url))).toBeDefined();
  });
});

describe("the web page", () => {
  it("answers a malformed %-escape with 400 and no error log", async () => {
    const errorsBefore = errorLines().length;
    for (const path of ["/%E0%A4%A", "/assets/%zz.js"]) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
    }
    expect(errorLines().slice(errorsBefore)).toEqual([]);
  });

  it("sends its security headers on / and on assets", async () => {
    for (const path of ["/", "/rooms/123", "/assets/app-1234.js", "/no-such.txt"]) {
      const res = await fetch(`${url}${path}`);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).toContain("base-uri 'none'");
      if (res.status === 200)
        expect(csp, path).toContain("img-src 'self' data: https://images.example.com");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("permissions-policy"), path).toContain("camera=()");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
  });
});

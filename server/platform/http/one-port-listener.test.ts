import { once } from "node:events";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../../gen/grpc/health/v1/health_pb.js";
import {
  createOnePortListener,
  type OnePortListener,
  type OnePortListenerOptions,
} from "./one-port-listener.js";

const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Observable server-side state of the test Health service. */
const state = { slowEntered: 0, watchAborted: 0 };

/** Health service: "slow" waits 300 ms, "missing" is NOT_FOUND, Watch never ends on its own. */
function routes(router: ConnectRouter) {
  router.service(Health, {
    async check(req) {
      if (req.service === "missing") throw new ConnectError("no such service", Code.NotFound);
      if (req.service === "slow") {
        state.slowEntered++;
        await delay(300);
        return { status: Status.NOT_SERVING };
      }
      return { status: Status.SERVING };
    },
    async *watch(_req, ctx) {
      yield { status: Status.SERVING };
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      state.watchAborted++;
    },
  });
}

let listener: OnePortListener | undefined;
const cleanups: Array<() => void> = [];

async function start(opts: Partial<OnePortListenerOptions> = {}) {
  listener = createOnePortListener({ handler: connectNodeAdapter({ routes }), ...opts });
  const { port } = await listener.listen(0, "127.0.0.1");
  expect(listener.address()?.port).toBe(port);
  return { port, baseUrl: `http://127.0.0.1:${port}` };
}

/** gRPC over h2c; listener.close() in afterEach sends GOAWAY, which closes the client session. */
function h2Transport(baseUrl: string) {
  return createGrpcTransport({ baseUrl }); // the gRPC transport always speaks HTTP/2
}

/** Raw TCP exchange: writes `data`, collects everything until the server closes. */
async function rawExchange(port: number, data: string) {
  const sock = net.connect(port, "127.0.0.1");
  await once(sock, "connect");
  const started = Date.now();
  let received = "";
  sock.on("data", (c: Buffer) => {
    received += c.toString("latin1");
  });
  sock.write(data);
  await once(sock, "close");
  return { received, elapsedMs: Date.now() - started };
}

/** TCP proxy that forwards the first bytes a client sends in separate, delayed writes. */
async function splittingProxy(targetPort: number, pieces: number[], gapMs: number) {
  const proxy = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on("error", kill).on("close", kill);
    upstream.pipe(client);
    const todo = [...pieces];
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      queue = queue.then(async () => {
        let rest = chunk;
        while (rest.length > 0 && todo.length > 0) {
          const n = Math.min(todo[0] ?? 0, rest.length);
          upstream.write(rest.subarray(0, n));
          rest = rest.subarray(n);
          if (n === todo[0]) todo.shift();
          else todo[0] = (todo[0] ?? 0) - n;
          await delay(gapMs);
        }
        if (rest.length > 0) upstream.write(rest);
      });
    });
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  cleanups.push(() => proxy.close());
  return (proxy.address() as net.AddressInfo).port;
}

/** Connect-protocol unary JSON POST over HTTP/1.1 with a keep-alive agent. */
function connectJsonPost(port: number, agent: http.Agent, service: string) {
  return new Promise<{ status?: number; connection?: string; body: unknown; at: number }>(
    (resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          agent,
          method: "POST",
          path: "/grpc.health.v1.Health/Check",
          headers: { "content-type": "application/json" },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode,
              connection: res.headers.connection,
              body: JSON.parse(body),
              at: Date.now(),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ service }));
    },
  );
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await listener?.close(200);
  listener = undefined;
  state.slowEntered = 0;
  state.watchAborted = 0;
});

describe("one-port listener: protocols", () => {
  it("serves Connect, gRPC-Web (HTTP/1.1) and gRPC (h2c) on the same port", async () => {
    const { baseUrl } = await start();
    const viaConnect = createClient(
      Health,
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    );
    const viaGrpcWeb = createClient(
      Health,
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    );
    const viaGrpc = createClient(Health, h2Transport(baseUrl));

    for (const client of [viaConnect, viaGrpcWeb, viaGrpc]) {
      expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
      await expect(client.check({ service: "missing" })).rejects.toMatchObject({
        code: Code.NotFound,
      });
    }
  });

  it("serves a raw @grpc/grpc-js client over h2c", async () => {
    const { port } = await start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const check = (service: string) =>
      new Promise<HealthCheckResponse>((resolve, reject) => {
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
          (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
          create(HealthCheckRequestSchema, { service }),
          (err, value) => (err || !value ? reject(err) : resolve(value)),
        );
      });
    expect((await check("")).status).toBe(Status.SERVING);
    await expect(check("missing")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("answers a plain HTTP/1.1 GET of an unknown path with a real 404 (not HTTP/0.9)", async () => {
    const { port, baseUrl } = await start();
    const res = await fetch(`${baseUrl}/no/such/path`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();

    const raw = await rawExchange(
      port,
      "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(raw.received).toMatch(/^HTTP\/1\.1 404 /);
  });

  it("answers h2c prior-knowledge requests (http2.connect)", async () => {
    const { baseUrl } = await start();
    const session = http2.connect(baseUrl);
    cleanups.push(() => session.destroy());
    const req = session.request({ ":path": "/nope", ":method": "GET" });
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    expect(headers[":status"]).toBe(404);
    req.resume();
    await once(req, "end");
  });

  it("handles the HTTP/2 preface split over several TCP writes", async () => {
    const { port } = await start();
    // 24-byte preface as 1 + 5 + 10 + 8 bytes, 30 ms apart.
    const proxyPort = await splittingProxy(port, [1, 5, 10, 8], 30);
    const client = createClient(Health, h2Transport(`http://127.0.0.1:${proxyPort}`));
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);

    // Same for HTTP/1.1 (the first bytes diverge from the preface at "G").
    const viaH1 = createClient(
      Health,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${proxyPort}`, httpVersion: "1.1" }),
    );
    expect((await viaH1.check({ service: "" })).status).toBe(Status.SERVING);
  });
});

describe("one-port listener: slow clients", () => {
  it("destroys a socket that sends nothing within headerTimeoutMs", async () => {
    const { port } = await start({ headerTimeoutMs: 300 });
    const sock = net.connect(port, "127.0.0.1");
    await once(sock, "connect");
    const started = Date.now();
    await vi.waitFor(() => expect(listener?.connectionCount()).toBe(1));
    await once(sock, "close");
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    await vi.waitFor(() => expect(listener?.connectionCount()).toBe(0));
  });

  it("destroys a socket that sends only part of the HTTP/2 preface", async () => {
    const { port } = await start({ headerTimeoutMs: 300 });
    const { received, elapsedMs } = await rawExchange(port, H2_PREFACE.slice(0, 16));
    expect(received).toBe("");
    expect(elapsedMs).toBeGreaterThanOrEqual(250);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it("enforces the HTTP/1.1 headers timeout on the inner http.Server (408)", async () => {
    const { port } = await start({ headerTimeoutMs: 300 });
    const { received, elapsedMs } = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n");
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(elapsedMs).toBeGreaterThanOrEqual(250);
    expect(elapsedMs).toBeLessThan(2_000);
  });
});

describe("one-port listener: close()", () => {
  it("lets in-flight unary calls finish, closes idle connections, refuses new ones", async () => {
    const { port, baseUrl } = await start();
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());

    // An idle keep-alive connection must not hold up close().
    const warm = await connectJsonPost(port, agent, "");
    expect(warm).toMatchObject({ status: 200, connection: "keep-alive" });

    const grpcClient = createClient(Health, h2Transport(baseUrl));
    const h1Slow = connectJsonPost(port, agent, "slow");
    const h2Slow = grpcClient.check({ service: "slow" }).then((r) => ({ r, at: Date.now() }));
    await vi.waitFor(() => expect(state.slowEntered).toBe(2));

    const started = Date.now();
    let closedAt = 0;
    const closing = listener?.close(5_000).then(() => {
      closedAt = Date.now();
    });

    // New connections are refused as soon as close() starts.
    const refused = net.connect(port, "127.0.0.1");
    const [err] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNREFUSED");

    const h1 = await h1Slow;
    expect(h1).toMatchObject({ status: 200, connection: "close", body: { status: "NOT_SERVING" } });
    const h2 = await h2Slow;
    expect(h2.r.status).toBe(Status.NOT_SERVING);

    await closing;
    expect(closedAt).toBeGreaterThanOrEqual(Math.max(h1.at, h2.at));
    expect(closedAt - started).toBeLessThan(2_000); // graceful, not the 5 s force
    expect(listener?.connectionCount()).toBe(0);
  });

  it("cuts never-ending server streams after forceAfterMs", async () => {
    const { baseUrl } = await start();
    const streams = [
      createClient(Health, h2Transport(baseUrl)),
      createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
    ].map((client) => client.watch({ service: "" })[Symbol.asyncIterator]());
    for (const s of streams) {
      expect((await s.next()).value).toMatchObject({ status: Status.SERVING });
    }
    expect(listener?.connectionCount()).toBe(2);
    // Settle immediately (no unhandled rejection while close() is awaited below).
    const pendingNext = streams.map((s) =>
      s.next().then(
        (r) => r,
        (e: unknown) => e,
      ),
    );

    const started = Date.now();
    await listener?.close(300);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2_000);
    expect(listener?.connectionCount()).toBe(0);

    for (const outcome of await Promise.all(pendingNext)) {
      expect(outcome).toBeInstanceOf(ConnectError);
    }
    await vi.waitFor(() => expect(state.watchAborted).toBe(2));
  });
});

/**
 * Reflection and health over a real h2c listener, checked with third-party
 * clients: `buf curl` (both reflection protocols) and @grpc/grpc-js.
 */
import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import {
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { HealthMonitor, registerHealth, ServingStatus } from "../../server/rpc/grpc/health.js";
import { registerReflection } from "../../server/rpc/grpc/reflection.js";
import { countSubscriptions } from "../support/health.js";

const run = promisify(execFile);
const buf = resolve("node_modules/.bin/buf");

const shutdown = new AbortController();
const monitor = new HealthMonitor({ checks: {} });
// Counts Watch subscriptions to see handlers release them over a real stream.
const subscriptions = countSubscriptions(monitor);
const sessions = new Set<http2.ServerHttp2Session>();
let server: http2.Http2Server;
let base: string;
let client: grpc.Client;

beforeAll(async () => {
  monitor.start();
  await monitor.ready();
  const routes = connectNodeAdapter({
    routes(router) {
      router.service(AuthService, {});
      registerHealth(router, monitor, {
        services: ["chat.v1.AuthService"],
        shutdownSignal: shutdown.signal,
      });
      registerReflection(router);
    },
  });
  server = http2.createServer(routes);
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  monitor.stop();
  for (const s of sessions) s.destroy();
  await new Promise((ok) => server?.close(ok));
});

/** Runs `buf curl` and returns stdout, or stderr with a failed exit. */
async function curl(...args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run(buf, ["curl", "--http2-prior-knowledge", ...args], {
      timeout: 60_000,
    });
    return { ok: true, out: stdout };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? String(err)}` };
  }
}

const serialize = (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m));
const deserialize = (b: Buffer) => fromBinary(HealthCheckResponseSchema, b);

describe("buf curl", () => {
  it.each(["grpc-v1", "grpc-v1alpha"])("lists services with %s reflection", async (proto) => {
    const res = await curl("--reflect-protocol", proto, "--list-services", base);
    expect(res.ok, res.out).toBe(true);
    expect(res.out.trim().split("\n").sort()).toEqual([
      "chat.v1.AuthService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("lists methods with %s reflection", async (proto) => {
    const res = await curl("--reflect-protocol", proto, "--list-methods", base);
    expect(res.ok, res.out).toBe(true);
    const methods = res.out.trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "chat.v1.AuthService/Login",
        "chat.v1.AuthService/Register",
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ]),
    );
  });

  it("calls Health/Check over gRPC", async () => {
    const res = await curl(
      "--protocol",
      "grpc",
      "-d",
      '{"service": "chat.v1.AuthService"}',
      `${base}/grpc.health.v1.Health/Check`,
    );
    expect(res.ok, res.out).toBe(true);
    expect(JSON.parse(res.out)).toEqual({ status: "SERVING" });

    const unknown = await curl(
      "--protocol",
      "grpc",
      "-d",
      '{"service": "nope.v1.Nope"}',
      `${base}/grpc.health.v1.Health/Check`,
    );
    expect(unknown.ok).toBe(false);
    expect(unknown.out).toContain("not_found");
  });

  it("encodes a request whose schema imports buf.validate, via reflection", async () => {
    // AuthService is a stub, so Unimplemented proves the schema resolved.
    const res = await curl(
      "--reflect-protocol",
      "grpc-v1alpha",
      "-d",
      '{"username": "alice", "password": "secret-password"}',
      `${base}/chat.v1.AuthService/Login`,
    );
    expect(res.ok).toBe(false);
    expect(res.out).toContain("unimplemented");
  });
});

describe("@grpc/grpc-js", () => {
  it("calls Health/Check with a generic client", async () => {
    const check = (service: string) =>
      new Promise<HealthCheckResponse>((ok, fail) => {
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          serialize,
          deserialize,
          create(HealthCheckRequestSchema, { service }),
          (err, res) => (err || !res ? fail(err) : ok(res)),
        );
      });
    expect((await check("")).status).toBe(ServingStatus.SERVING);
    const err = await check("nope.v1.Nope").catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  function watch(service: string) {
    const call = client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      serialize,
      deserialize,
      create(HealthCheckRequestSchema, { service }),
    );
    const received: ServingStatus[] = [];
    call.on("data", (m: HealthCheckResponse) => received.push(m.status));
    const ended = new Promise<grpc.StatusObject>((ok) => call.on("status", ok));
    call.on("error", () => {}); // the status event carries the outcome
    return { call, received, ended };
  }

  it("releases a Watch when the client cancels", async () => {
    const w = watch("");
    await vi.waitFor(() => expect(w.received).toEqual([ServingStatus.SERVING]));
    expect(subscriptions.active).toBe(1);
    w.call.cancel();
    expect((await w.ended).code).toBe(grpc.status.CANCELLED);
    await vi.waitFor(() => expect(subscriptions.active).toBe(0));
  });

  // Last: aborts the shared shutdown signal.
  it("ends a Watch with UNAVAILABLE when the server shuts down", async () => {
    const w = watch("chat.v1.AuthService");
    await vi.waitFor(() => expect(w.received).toEqual([ServingStatus.SERVING]));
    shutdown.abort();
    const status = await w.ended;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toBe("server is shutting down");
    expect(w.received).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(subscriptions.active).toBe(0);
  });
});

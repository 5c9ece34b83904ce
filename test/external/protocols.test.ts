/**
 * The real server on port 0, called the way each kind of client calls it:
 * Connect and gRPC-Web over HTTP/1.1 (browsers), gRPC over h2c (services),
 * and the raw @grpc/grpc-js client.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  AuthService,
  LoginRequestSchema,
  LoginResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
} from "../../gen/chat/v1/auth_pb.js";
import { GetMeRequestSchema, GetMeResponseSchema, UserService } from "../../gen/chat/v1/user_pb.js";
import { withToken } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { uniqueName } from "../support/users.js";

const { server } = setupTestEnv({ redis: true, instances: 0, server: true });

const transports: Record<string, () => Transport> = {
  "Connect over HTTP/1.1": () =>
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  "Connect over h2c": () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
  "gRPC over h2c": () => createGrpcTransport({ baseUrl: server.url }),
  "gRPC-Web over HTTP/1.1": () =>
    createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
};

describe.each(Object.entries(transports))("%s", (_name, make) => {
  it("registers, logs in and gets the account", async () => {
    const transport = make();
    const username = uniqueName("proto");
    const auth = createClient(AuthService, transport);
    const reg = await auth.register({ username, password: "password-123" });
    const login = await auth.login({ username, password: "password-123" });
    const me = await createClient(UserService, withToken(transport, login.accessToken)).getMe({});
    expect(me.user?.id).toBe(reg.user?.id);
    expect(me.user?.username).toBe(username);
  });

  it("maps errors to the same codes", async () => {
    const transport = make();
    await expectCode(createClient(UserService, transport).getMe({}), Code.Unauthenticated);
    await expectCode(
      createClient(AuthService, transport).register({ username: "x", password: "y" }),
      Code.InvalidArgument,
    );
  });
});

describe("HTTP endpoints", () => {
  it("answers GET /healthz with 200 while MySQL and Redis answer", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
  });

  it("answers a Connect unary call from plain fetch with JSON", async () => {
    const res = await fetch(`${server.url}/chat.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "nobody_here", password: "whatever1" }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("unauthenticated");
    expect(body.message).toBe("wrong username or password");
  });

  it("gives 404 for unknown paths", async () => {
    expect((await fetch(`${server.url}/no/such/thing`)).status).toBe(404);
  });
});

describe("@grpc/grpc-js over h2c", () => {
  function unary<I, O>(
    client: grpc.Client,
    path: string,
    req: I,
    ser: (v: I) => Uint8Array,
    de: (b: Uint8Array) => O,
    md = new grpc.Metadata(),
  ): Promise<O> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        (v: I) => Buffer.from(ser(v)),
        de,
        req,
        md,
        (err, value) => (err ? reject(err) : resolve(value as O)),
      );
    });
  }

  it("registers, logs in and calls GetMe with metadata", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const username = uniqueName("grpcjs");
      await unary(
        client,
        "/chat.v1.AuthService/Register",
        create(RegisterRequestSchema, { username, password: "password-123" }),
        (v) => toBinary(RegisterRequestSchema, v),
        (b) => fromBinary(RegisterResponseSchema, b),
      );
      const login = await unary(
        client,
        "/chat.v1.AuthService/Login",
        create(LoginRequestSchema, { username, password: "password-123" }),
        (v) => toBinary(LoginRequestSchema, v),
        (b) => fromBinary(LoginResponseSchema, b),
      );
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${login.accessToken}`);
      const me = await unary(
        client,
        "/chat.v1.UserService/GetMe",
        create(GetMeRequestSchema),
        (v) => toBinary(GetMeRequestSchema, v),
        (b) => fromBinary(GetMeResponseSchema, b),
        md,
      );
      expect(me.user?.username).toBe(username);
      const denied = await unary(
        client,
        "/chat.v1.UserService/GetMe",
        create(GetMeRequestSchema),
        (v) => toBinary(GetMeRequestSchema, v),
        (b) => fromBinary(GetMeResponseSchema, b),
      ).catch((e: grpc.ServiceError) => e);
      expect((denied as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });
});

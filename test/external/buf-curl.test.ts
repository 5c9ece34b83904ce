/**
 * `buf curl` (the real CLI, with no proto files: everything through server
 * reflection) against the real server, over each protocol.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { setupTestEnv } from "../support/fixture.js";
import { uniqueName } from "../support/users.js";

const run = promisify(execFile);
const buf = resolve("node_modules/.bin/buf");

const { server } = setupTestEnv({ instances: 0, server: true });

async function curl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(buf, ["curl", ...args], { timeout: 20_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.code ?? -1 };
  }
}

describe("reflection", () => {
  it.each(["grpc-v1", "grpc-v1alpha"])("lists services and methods with %s", async (protocol) => {
    const services = await curl([
      "--http2-prior-knowledge",
      "--reflect-protocol",
      protocol,
      "--list-services",
      server.url,
    ]);
    expect(services.stderr).toBe("");
    const names = services.stdout.trim().split("\n").sort();
    expect(names).toEqual(
      expect.arrayContaining([
        "chat.v1.AuthService",
        "chat.v1.UserService",
        "grpc.health.v1.Health",
      ]),
    );
    const methods = await curl([
      "--http2-prior-knowledge",
      "--reflect-protocol",
      protocol,
      "--list-methods",
      server.url,
    ]);
    expect(methods.stdout).toContain("chat.v1.AuthService/Register");
    expect(methods.stdout).toContain("chat.v1.UserService/SearchUsers");
  });
});

describe.each([
  ["connect", ["--protocol", "connect"]],
  ["connect (HTTP/2)", ["--protocol", "connect", "--http2-prior-knowledge"]],
  ["grpc", ["--protocol", "grpc", "--http2-prior-knowledge"]],
  ["grpcweb", ["--protocol", "grpcweb"]],
])("over %s", (_name, flags) => {
  it("registers, logs in and calls GetMe with a bearer token", async () => {
    const h1 = flags;
    const username = uniqueName("bufcurl");
    const creds = JSON.stringify({ username, password: "password-123" });
    const reg = await curl([...h1, "-d", creds, `${server.url}/chat.v1.AuthService/Register`]);
    expect(reg.stderr).toBe("");
    expect(JSON.parse(reg.stdout).user.username).toBe(username);
    const login = await curl([...h1, "-d", creds, `${server.url}/chat.v1.AuthService/Login`]);
    const token = JSON.parse(login.stdout).accessToken as string;
    expect(token).toMatch(/^ct_/);
    const me = await curl([
      ...h1,
      "-H",
      `Authorization: Bearer ${token}`,
      "-d",
      "{}",
      `${server.url}/chat.v1.UserService/GetMe`,
    ]);
    expect(JSON.parse(me.stdout).user.username).toBe(username);
    const denied = await curl([...h1, "-d", "{}", `${server.url}/chat.v1.UserService/GetMe`]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("unauthenticated");
  });
});

describe("health", () => {
  it("reports SERVING through grpc.health.v1.Health/Check", async () => {
    const res = await curl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      "{}",
      `${server.url}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(res.stdout)).toEqual({ status: "SERVING" });
  });
});

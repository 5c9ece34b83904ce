/**
 * AdminService's door on a real server, over Connect, gRPC and gRPC-Web:
 * API keys missing, wrong, revoked, a user's token in place of a key, and
 * read-only keys trying to write; API keys refused by chat.v1; the audit
 * log records every call, refused ones included. Keys made with the
 * `npm run admin` command work as written.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/chat/admin/v1/admin_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { ApiKeys } from "../../server/domain/admin/api-keys.js";
import { adminClient, newApiKey } from "../support/admin.js";
import { authed } from "../support/clients.js";
import { expectCode, reasonOf } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser } from "../support/users.js";

const run = promisify(execFile);
const { env, server } = setupTestEnv({ server: true });

const protocols: [string, () => Transport][] = [
  ["connect", () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })],
  ["grpc", () => createGrpcTransport({ baseUrl: server.url })],
  ["grpc-web", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" })],
];

describe.each(protocols)("API keys over %s", (protocol, transportOf) => {
  it("refuses missing, wrong, revoked keys and user tokens; read-only keys read but never write", async () => {
    const t = transportOf();
    const full = await newApiKey(env.prisma, `full-${protocol}`);
    const readOnly = await newApiKey(env.prisma, `ro-${protocol}`, "READ_ONLY");
    const revoked = await newApiKey(env.prisma, `revoked-${protocol}`);
    await new ApiKeys(env.prisma).revoke(String(revoked.id));
    const alice = await newUser(
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );

    const refusals: [string, string | undefined][] = [
      ["missing", undefined],
      ["wrong", `ak_${"x".repeat(43)}`],
      ["revoked", revoked.key],
      ["user token", alice.token],
    ];
    for (const [what, key] of refusals) {
      const client = key === undefined ? createClient(AdminService, t) : adminClient(t, key);
      const err = await expectCode(client.getStats({}), Code.Unauthenticated);
      expect(reasonOf(err), what).toBe("API_KEY_INVALID");
    }

    const ro = adminClient(t, readOnly.key);
    const stats = await ro.getStats({});
    expect(stats.instances.length).toBeGreaterThan(0);
    const denied = await expectCode(ro.disableUser({ userId: alice.id }), Code.PermissionDenied);
    expect(reasonOf(denied)).toBe("API_KEY_READ_ONLY");
    // Nothing changed: Alice still works.
    await authed(UserService, t, alice.token).getMe({});

    const admin = adminClient(t, full.key);
    const users = await admin.listUsers({ query: alice.username });
    expect(users.users.map((u) => u.user?.id)).toEqual([alice.id]);

    // An API key is no user token.
    const asUser = await expectCode(
      authed(UserService, t, full.key).getMe({}),
      Code.Unauthenticated,
    );
    expect(reasonOf(asUser)).toBe("TOKEN_INVALID");

    // Every admin call is in the audit log, refusals included.
    const log = await admin.listAuditLog({ pageSize: 20 });
    const mine = log.entries
      .filter((e) => e.keyName.endsWith(protocol) || e.keyName === "")
      .map((e) => `${e.keyName}:${e.method}:${e.target}:${e.result}`);
    expect(mine).toContain(`ro-${protocol}:GetStats::ok`);
    expect(mine).toContain(`ro-${protocol}:DisableUser:user:${alice.id}:permission_denied`);
    expect(mine).toContain(`full-${protocol}:ListUsers::ok`);
    expect(mine, JSON.stringify(mine)).toContain(":GetStats::unauthenticated");
  });
});

it("the audit log pages newest first", async () => {
  const { key } = await newApiKey(env.prisma, "pager");
  const admin = adminClient(
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    key,
  );
  for (let i = 0; i < 3; i++) await admin.getStats({});
  const first = await admin.listAuditLog({ pageSize: 2 });
  expect(first.entries).toHaveLength(2);
  expect(first.nextBeforeId).toBe(first.entries[1]?.id);
  const second = await admin.listAuditLog({ pageSize: 2, beforeId: first.nextBeforeId });
  expect(second.entries[0]?.id).toBeLessThan(first.nextBeforeId);
});

it("npm run admin -- keys create / list / revoke", async () => {
  const cli = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "server/admin-cli.ts", ...args], {
      env: { ...process.env, DATABASE_URL: env.databaseUrl },
      timeout: 60_000,
    });
  const created = await cli("keys", "create", "--name", "cli-ops");
  const key = created.stdout.trim().split("\n").pop() ?? "";
  expect(key).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
  const admin = adminClient(
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    key,
  );
  await admin.getStats({});

  const listed = await cli("keys", "list");
  expect(listed.stdout).toMatch(/\tcli-ops\tFULL\t.*\tactive/);
  expect(listed.stdout).not.toContain(key);

  await cli("keys", "revoke", "cli-ops");
  await expectCode(admin.getStats({}), Code.Unauthenticated);
  const unknown = await cli("keys", "revoke", "cli-ops").catch((err: { code: number }) => err);
  expect((unknown as { code: number }).code).toBe(1);
});

import { Code, createClient } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { authed } from "../support/clients.js";
import { inMemoryTransport } from "../support/env.js";
import { badFields, expectCode, reasonOf } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser, uniqueName } from "../support/users.js";

const { env, transport } = setupTestEnv();
let auth: ReturnType<typeof createClient<typeof AuthService>>;

beforeAll(() => {
  auth = createClient(AuthService, transport);
});

const userCount = () => env.prisma.user.count();

describe("Register", () => {
  it("creates an account, keeping the username's case", async () => {
    const username = uniqueName("Alice");
    const res = await auth.register({
      username,
      password: "s3cret-pass",
      displayName: "  Alice A.  ",
    });
    expect(res.user?.username).toBe(username);
    expect(res.user?.displayName).toBe("Alice A.");
    expect(res.user?.id).toBeGreaterThan(0n);
    const row = await env.prisma.user.findUniqueOrThrow({ where: { id: res.user?.id ?? 0n } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain("s3cret-pass");
  });

  it("rejects a username taken in another case with AlreadyExists", async () => {
    const username = uniqueName("Bob");
    await auth.register({ username, password: "pass-word-one" });
    const before = await userCount();
    const err = await expectCode(
      auth.register({ username: username.toUpperCase(), password: "pass-word-two" }),
      Code.AlreadyExists,
    );
    expect(reasonOf(err)).toBe("USERNAME_TAKEN");
    expect(await userCount()).toBe(before);
  });

  it("gives one AlreadyExists when the same name is registered concurrently", async () => {
    const username = uniqueName("race");
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => auth.register({ username, password: "pass-word-one" })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await env.prisma.user.count({ where: { usernameKey: username.toLowerCase() } })).toBe(1);
  });

  it("rejects bad input with field details and writes nothing", async () => {
    const before = await userCount();
    const err = await expectCode(
      auth.register({ username: "a b", password: "short", displayName: "x".repeat(65) }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["display_name", "password", "username"]);
    expect(err.rawMessage).toContain("username");
    await expectCode(
      auth.register({ username: "ab", password: "longenough" }),
      Code.InvalidArgument,
    );
    await expectCode(
      auth.register({ username: "x".repeat(33), password: "longenough" }),
      Code.InvalidArgument,
    );
    await expectCode(
      auth.register({ username: "émile", password: "longenough" }),
      Code.InvalidArgument,
    );
    expect(await userCount()).toBe(before);
  });
});

describe("Login", () => {
  it("returns a token that works, for any case of the username", async () => {
    const username = uniqueName("Carol");
    await auth.register({ username, password: "password-c" });
    const res = await auth.login({
      username: username.toUpperCase(),
      password: "password-c",
      deviceName: "cli",
    });
    expect(res.accessToken).toMatch(/^ct_[A-Za-z0-9_-]{43}$/);
    expect(res.user?.username).toBe(username);
    const expires = Number(res.expireTime?.seconds ?? 0n) * 1000;
    expect(expires - Date.now()).toBeGreaterThan(3500 * 1000);
    const me = await authed(UserService, transport, res.accessToken).getMe({});
    expect(me.user?.id).toBe(res.user?.id);
    // Only the hash is stored.
    const sessions = await env.prisma.session.findMany({ where: { userId: res.user?.id ?? 0n } });
    expect(sessions).toHaveLength(1);
    expect(Buffer.from(sessions[0]?.tokenHash ?? []).toString()).not.toContain(res.accessToken);
  });

  it("gives the same error for an unknown user and a wrong password", async () => {
    const { username } = await newUser(transport);
    const wrong = await expectCode(
      auth.login({ username, password: "not-the-password" }),
      Code.Unauthenticated,
    );
    const unknown = await expectCode(
      auth.login({ username: uniqueName("ghost"), password: "not-the-password" }),
      Code.Unauthenticated,
    );
    expect(wrong.rawMessage).toBe(unknown.rawMessage);
    expect(reasonOf(wrong)).toBe("BAD_CREDENTIALS");
    expect(reasonOf(unknown)).toBe("BAD_CREDENTIALS");
  });
});

describe("tokens", () => {
  it("rejects calls without, or with a malformed, token", async () => {
    const users = createClient(UserService, transport);
    const missing = await expectCode(users.getMe({}), Code.Unauthenticated);
    expect(reasonOf(missing)).toBe("TOKEN_INVALID");
    await expectCode(authed(UserService, transport, "garbage").getMe({}), Code.Unauthenticated);
    await expectCode(
      authed(UserService, transport, `ct_${"A".repeat(43)}`).getMe({}),
      Code.Unauthenticated,
    );
  });

  it("Logout revokes only the token it is called with", async () => {
    const a = await newUser(transport);
    const second = await auth.login({ username: a.username, password: a.password });
    await authed(AuthService, transport, a.token).logout({});
    await expectCode(authed(UserService, transport, a.token).getMe({}), Code.Unauthenticated);
    const me = await authed(UserService, transport, second.accessToken).getMe({});
    expect(me.user?.username).toBe(a.username);
  });

  it("LogoutAll revokes every token of the user and counts them", async () => {
    const a = await newUser(transport);
    const other = await newUser(transport);
    const second = await auth.login({ username: a.username, password: a.password });
    const res = await authed(AuthService, transport, a.token).logoutAll({});
    expect(res.revokedSessions).toBe(2);
    await expectCode(authed(UserService, transport, a.token).getMe({}), Code.Unauthenticated);
    await expectCode(
      authed(UserService, transport, second.accessToken).getMe({}),
      Code.Unauthenticated,
    );
    // Someone else's session is untouched.
    await authed(UserService, transport, other.token).getMe({});
  });

  it("expires tokens after their lifetime", async () => {
    let now = Date.now();
    const t = inMemoryTransport(env, { clock: { now: () => new Date(now) } });
    const a = await newUser(t);
    await authed(UserService, t, a.token).getMe({});
    now += 3601 * 1000;
    await expectCode(authed(UserService, t, a.token).getMe({}), Code.Unauthenticated);
  });
});

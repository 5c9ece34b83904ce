/**
 * Logins and registrations against the real server, with addresses given by
 * X-Forwarded-For through a trusted proxy (127.0.0.1 here): a lockout per
 * account and address that never locks the user's other addresses, a cap
 * per address across accounts, a looser cap per account that addresses
 * which logged in before pass, registrations per address, and the password
 * policy. A client that is not a trusted proxy cannot choose its address.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { badFields, expectCode, reasonOf } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { TestServer } from "../support/server.js";
import { testPassword, uniqueName } from "../support/users.js";
import { expectLimited, lowLimits } from "./kit.js";

const { a, env, server } = setupTestEnv({
  redis: true,
  deps: { rateLimits: lowLimits() },
  server: {
    rateLimits: {
      ...lowLimits({ registrations: { points: 2, seconds: 600 } }),
      trustedProxies: ["127.0.0.1"],
      loginLockoutSeconds: 60,
      loginLockoutMaxSeconds: 3600,
    },
  },
});

let lastOctet = 0;
/** A fresh client address (TEST-NET-3), and the AuthService as seen from it. */
function fromNewAddress() {
  const address = `203.0.113.${++lastOctet}`;
  return { address, auth: from(address) };
}
function from(address: string) {
  const transport = createConnectTransport({
    baseUrl: server.url,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("x-forwarded-for", address);
        return next(req);
      },
    ],
  });
  return createClient(AuthService, transport);
}

async function account(): Promise<string> {
  const username = uniqueName("lg");
  await createClient(AuthService, a).register({ username, password: testPassword });
  return username;
}

const wrong = (username: string) => ({ username, password: "not the password" });
const right = (username: string) => ({ username, password: testPassword });

describe("login failures", () => {
  it("lock an account out at one address only, before the password is even checked", async () => {
    const username = await account();
    const attacker = fromNewAddress().auth;
    for (let i = 0; i < 3; i++) {
      const err = await expectCode(attacker.login(wrong(username)), Code.Unauthenticated);
      expect(reasonOf(err)).toBe("BAD_CREDENTIALS");
    }
    // Locked for the first lockout (60 s), even with the right password.
    const ms = await expectLimited(attacker.login(right(username)), 60_000);
    expect(ms).toBeGreaterThan(50_000);
    // The user, elsewhere, logs in.
    await fromNewAddress().auth.login(right(username));
  });

  it("check no more guesses than the limit however many are in flight at once", async () => {
    const username = await account();
    const attacker = fromNewAddress().auth;
    const answers = await Promise.allSettled(
      Array.from({ length: 20 }, () => attacker.login(wrong(username))),
    );
    const reasons = answers.map((r) => (r.status === "rejected" ? reasonOf(r.reason) : "ok"));
    // Three (the pair's limit) checked and wrong; the other 17 refused before hashing.
    expect(reasons.filter((r) => r === "BAD_CREDENTIALS")).toHaveLength(3);
    expect(reasons.filter((r) => r === "RATE_LIMITED")).toHaveLength(17);
    await expectLimited(attacker.login(right(username)));
  });

  it("are capped per address across accounts, unknown usernames included", async () => {
    const { auth } = fromNewAddress();
    for (let i = 0; i < 5; i++) {
      await expectCode(auth.login(wrong(uniqueName("nobody"))), Code.Unauthenticated);
    }
    await expectLimited(auth.login(right(await account())));
  });

  it("past the per-account cap refuse new addresses but not ones that logged in before", async () => {
    const username = await account();
    const home = fromNewAddress().auth;
    await home.login(right(username)); // home becomes known
    // A botnet: 2 guesses from each of 2 addresses (under the per-address lockout).
    for (let i = 0; i < 2; i++) {
      const bot = fromNewAddress().auth;
      await expectCode(bot.login(wrong(username)), Code.Unauthenticated);
      await expectCode(bot.login(wrong(username)), Code.Unauthenticated);
    }
    await expectLimited(fromNewAddress().auth.login(right(username)));
    const res = await home.login(right(username));
    expect(res.accessToken).not.toBe("");
  });

  it("ignore X-Forwarded-For from a client that is not a trusted proxy", async () => {
    const username = await account();
    // A second server that trusts no proxy: the header is only the client's word.
    const plain = new TestServer(env, { rateLimits: { ...lowLimits(), trustedProxies: [] } });
    await plain.start();
    try {
      const via = (address: string) =>
        createClient(
          AuthService,
          createConnectTransport({
            baseUrl: plain.url,
            httpVersion: "1.1",
            interceptors: [
              (next) => (req) => {
                req.header.set("x-forwarded-for", address);
                return next(req);
              },
            ],
          }),
        );
      for (const addr of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) {
        await expectCode(via(addr).login(wrong(username)), Code.Unauthenticated);
      }
      // All three came from 127.0.0.1: locked there, whatever the header claims.
      await expectLimited(via("198.51.100.4").login(right(username)));
    } finally {
      await plain.stop();
    }
  });
});

describe("registrations", () => {
  it("are limited per address", async () => {
    const { auth } = fromNewAddress();
    await auth.register({ username: uniqueName("rg"), password: testPassword });
    await auth.register({ username: uniqueName("rg"), password: testPassword });
    await expectLimited(auth.register({ username: uniqueName("rg"), password: testPassword }));
    await fromNewAddress().auth.register({ username: uniqueName("rg"), password: testPassword });
  });

  it("refuse common passwords and the username as password with a field violation", async () => {
    const { auth } = fromNewAddress();
    const username = uniqueName("rg");
    const err = await expectCode(
      auth.register({ username, password: "Password1" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["password"]);
    const same = await expectCode(
      auth.register({ username, password: username }),
      Code.InvalidArgument,
    );
    expect(badFields(same)).toEqual(["password"]);
  });
});

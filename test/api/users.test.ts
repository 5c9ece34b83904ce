import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { authed } from "../support/clients.js";
import { createTestEnv, inMemoryTransport } from "../support/env.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser, signUp } from "../support/users.js";

const { env, transport } = setupTestEnv({
  // Avatars only from hosts the operator lists (server/domain/avatar-url.ts).
  deps: { avatarHosts: ["example.com", "*.cdn.example.net"] },
});
let users: ReturnType<typeof authed<typeof UserService>>;
let searcherToken = "";

beforeAll(async () => {
  const searcher = await newUser(transport);
  users = searcher.users;
  searcherToken = searcher.token;
});

describe("GetUser", () => {
  it("finds users by id and by username in any case", async () => {
    const other = await newUser(transport);
    expect(
      (await users.getUser({ lookup: { case: "id", value: other.user.id } })).user?.username,
    ).toBe(other.username);
    const byName = await users.getUser({
      lookup: { case: "username", value: other.username.toUpperCase() },
    });
    expect(byName.user?.id).toBe(other.user.id);
  });

  it("gives NotFound for unknown users and InvalidArgument without a lookup", async () => {
    await expectCode(users.getUser({ lookup: { case: "id", value: 999_999_999n } }), Code.NotFound);
    await expectCode(
      users.getUser({ lookup: { case: "username", value: "nobody_here" } }),
      Code.NotFound,
    );
    await expectCode(users.getUser({}), Code.InvalidArgument);
  });
});

describe("UpdateProfile", () => {
  it("changes only the fields that are set, trimming the display name", async () => {
    const a = await newUser(transport);
    const client = authed(UserService, transport, a.token);
    let res = await client.updateProfile({ displayName: "  Ann  " });
    expect(res.user?.displayName).toBe("Ann");
    res = await client.updateProfile({ avatarUrl: "https://example.com/a.png" });
    expect(res.user?.displayName).toBe("Ann");
    expect(res.user?.avatarUrl).toBe("https://example.com/a.png");
    res = await client.updateProfile({ avatarUrl: "" });
    expect(res.user?.avatarUrl).toBe("");
    expect((await client.getMe({})).user?.displayName).toBe("Ann");
  });

  it("rejects avatar URLs that are not https on an allowed host, and changes nothing", async () => {
    const a = await newUser(transport);
    const client = authed(UserService, transport, a.token);
    await client.updateProfile({ displayName: "Before", avatarUrl: "https://example.com/ok.png" });
    for (const avatarUrl of [
      "javascript:alert(1)",
      "data:image/png;base64,AAAA",
      "/relative.png",
      "ftp://x/y",
      "http://example.com/plain-http.png",
      "https://evil.example.org/track.png",
      "https://example.com.evil.org/x.png",
      "https://cdn.example.net/bare-suffix.png",
      "https://user:pw@example.com/x.png",
      "https://example.com:8443/x.png",
      "https://127.0.0.1/x.png",
    ]) {
      const err = await expectCode(
        client.updateProfile({ displayName: "After", avatarUrl }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual(["avatar_url"]);
    }
    const row = await env.prisma.user.findUniqueOrThrow({ where: { id: a.user.id } });
    expect(row.displayName).toBe("Before");
    expect(row.avatarUrl).toBe("https://example.com/ok.png");
    // A subdomain of a `*.` entry is fine.
    const sub = await client.updateProfile({ avatarUrl: "https://img.cdn.example.net/a.png" });
    expect(sub.user?.avatarUrl).toBe("https://img.cdn.example.net/a.png");
  });

  it("accepts no avatar URL at all when the operator allows no host (the default)", async () => {
    const closed = inMemoryTransport(env, { avatarHosts: undefined });
    const a = await newUser(closed);
    const client = authed(UserService, closed, a.token);
    const err = await expectCode(
      client.updateProfile({ avatarUrl: "https://example.com/a.png" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["avatar_url"]);
    expect((await client.updateProfile({ avatarUrl: "" })).user?.avatarUrl).toBe("");
  });
});

describe("SearchUsers", () => {
  it("matches username and display name prefixes case-insensitively, in pages", async () => {
    const tag = `srch${Date.now().toString(36)}`;
    const names = [`${tag}_a`, `${tag}_b`, `${tag}_c`, `${tag}_d`, `${tag}_e`];
    const ids: bigint[] = [];
    for (const n of names) ids.push((await signUp(transport, n)).user.id);
    const byDisplay = await newUser(transport);
    await authed(UserService, transport, byDisplay.token).updateProfile({
      displayName: `${tag.toUpperCase()} Zed`,
    });
    // Search finds people the caller shares a room with (and exact usernames).
    await authed(RoomService, transport, searcherToken).createRoom({
      name: "searchable",
      visibility: Visibility.PRIVATE,
      memberIds: [...ids, byDisplay.id],
    });

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await users.searchUsers({ prefix: tag.toUpperCase(), pageSize: 2, pageToken });
      expect(res.users.length).toBeLessThanOrEqual(2);
      seen.push(...res.users.map((u) => u.username));
      pageToken = res.nextPageToken;
      pages += 1;
    } while (pageToken !== "" && pages < 10);
    expect(seen).toEqual(
      [...names, byDisplay.username].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())),
    );
    expect(pages).toBe(3);
  });

  it("finds strangers only by their exact username", async () => {
    const tag = `priv${Date.now().toString(36)}`;
    const stranger = await signUp(transport, `${tag}_x`);
    expect((await users.searchUsers({ prefix: tag })).users).toHaveLength(0);
    const exact = await users.searchUsers({ prefix: stranger.username.toUpperCase() });
    expect(exact.users.map((u) => u.id)).toEqual([stranger.user.id]);
  });

  it("treats LIKE wildcards literally", async () => {
    const tag = `wc${Date.now().toString(36)}`;
    await signUp(transport, `${tag}xy`);
    const res = await users.searchUsers({ prefix: `${tag}_` });
    expect(res.users).toHaveLength(0);
    const pct = await users.searchUsers({ prefix: "%" });
    expect(pct.users).toHaveLength(0);
  });

  it("rejects blank prefixes and forged page tokens", async () => {
    expect(
      badFields(await expectCode(users.searchUsers({ prefix: "" }), Code.InvalidArgument)),
    ).toEqual(["prefix"]);
    await expectCode(users.searchUsers({ prefix: "   " }), Code.InvalidArgument);
    const err = await expectCode(
      users.searchUsers({ prefix: "a", pageToken: "bm90LWEtdG9rZW4" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["page_token"]);
    await expectCode(users.searchUsers({ prefix: "a", pageSize: 101 }), Code.InvalidArgument);
  });
});

describe("with Redis", () => {
  it("shares the token cache between instances, so revocation is seen everywhere", async () => {
    const shared = await createTestEnv({ redis: true });
    try {
      const a = inMemoryTransport(shared); // instance A
      const b = inMemoryTransport(shared); // instance B, same DB and Redis prefix
      const u = await newUser(a);
      await authed(UserService, b, u.token).getMe({}); // B caches the session
      const keys = await shared.redis?.keys(`${shared.redisPrefix}session:*`);
      expect(keys).toHaveLength(1);
      await authed(AuthService, a, u.token).logout({});
      await expectCode(authed(UserService, b, u.token).getMe({}), Code.Unauthenticated);
    } finally {
      await shared.close();
    }
  });
});

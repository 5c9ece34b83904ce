/**
 * How open feeds end: token revocation (Logout, LogoutAll) ends the streams
 * of the revoked tokens promptly with Unauthenticated on every instance;
 * shutdown ends them with Unavailable, in memory and on the real server.
 */
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { expect, describe as group, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { authed, withToken } from "../support/clients.js";
import { inMemoryInstance } from "../support/env.js";
import { reasonOf } from "../support/errors.js";
import { ChatStream, describe, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { TestServer } from "../support/server.js";
import { newRoom, newUser, send } from "../support/users.js";

const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });

/** A second token of the same user. */
async function login(t: Transport, username: string, password: string): Promise<string> {
  return (await createClient(AuthService, t).login({ username, password })).accessToken;
}

/** Expects the feed to end with `code` within `ms`; returns how long it took. */
async function expectEnd(
  feed: FeedReader,
  code: Code,
  reason: string,
  ms = 3_000,
): Promise<number> {
  const start = Date.now();
  const { error } = await feed.error(ms);
  expect(Code[error.code]).toBe(Code[code]);
  expect(reasonOf(error)).toBe(reason);
  return Date.now() - start;
}

group("token revocation", () => {
  it("Logout ends the streams of that token on every instance, and only those", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const token2 = await login(b, alice.username, alice.password);
    const sameTokenA = FeedReader.open(alice.feed);
    const sameTokenB = FeedReader.open(alice.on(b).feed);
    const sameTokenChat = new ChatStream(authed(FeedService, b, alice.token));
    const otherToken = FeedReader.open(authed(FeedService, b, token2));
    const bobs = FeedReader.open(bob.on(b).feed);
    try {
      for (const f of [sameTokenA, sameTokenB, otherToken, bobs]) await f.ready();
      sameTokenChat.command({ case: "ping", value: {} }, "p1");
      await sameTokenChat.until((r) => r.response.case === "ack");

      await createClient(AuthService, withToken(a, alice.token)).logout({});
      const took = await Promise.all([
        expectEnd(sameTokenA, Code.Unauthenticated, "TOKEN_INVALID"),
        expectEnd(sameTokenB, Code.Unauthenticated, "TOKEN_INVALID"),
      ]);
      for (const ms of took) expect(ms).toBeLessThan(2_000);
      const chatEnd = await sameTokenChat.reader.untilError(3_000);
      expect(Code[chatEnd.error.code]).toBe("Unauthenticated");

      // The other token's stream and other users' streams go on.
      await send(bob, room, "still there?");
      expect(describe(await otherToken.next())).toBe(`${room}:2:messageCreated:still there?`);
      expect(describe(await bobs.next())).toBe(`${room}:2:messageCreated:still there?`);

      // The revoked token cannot open a new one.
      const again = FeedReader.open(alice.on(b).feed);
      const refused = await again.error();
      expect(refused.events).toEqual([]);
      expect(Code[refused.error.code]).toBe("Unauthenticated");
    } finally {
      for (const f of [sameTokenA, sameTokenB, otherToken, bobs]) f.close();
      sameTokenChat.close();
    }
  });

  it("LogoutAll ends every stream of the user on every instance", async () => {
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const token2 = await login(a, alice.username, alice.password);
    const feeds = [
      FeedReader.open(alice.feed),
      FeedReader.open(alice.on(b).feed),
      FeedReader.open(authed(FeedService, a, token2)),
      FeedReader.open(authed(FeedService, b, token2)),
    ];
    const bobs = FeedReader.open(bob.on(a).feed);
    try {
      for (const f of [...feeds, bobs]) await f.ready();
      const res = await createClient(AuthService, withToken(b, token2)).logoutAll({});
      expect(res.revokedSessions).toBe(2);
      const took = await Promise.all(
        feeds.map((f) => expectEnd(f, Code.Unauthenticated, "TOKEN_INVALID")),
      );
      for (const ms of took) expect(ms).toBeLessThan(2_000);
      await send(bob, room, "bob is fine");
      expect(describe(await bobs.next())).toBe(`${room}:2:messageCreated:bob is fine`);
    } finally {
      for (const f of [...feeds, bobs]) f.close();
    }
  });
});

group("shutdown", () => {
  it("in memory: aborting shutdownController ends that instance's streams with Unavailable", async () => {
    const inst = inMemoryInstance(env);
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const doomed = FeedReader.open(alice.on(inst.transport).feed);
    const doomedChat = new ChatStream(bob.on(inst.transport).feed);
    const survivor = FeedReader.open(bob.on(b).feed);
    try {
      await doomed.ready();
      await survivor.ready();
      doomedChat.command({ case: "ping", value: {} }, "p1");
      await doomedChat.until((r) => r.response.case === "ack");
      inst.rpc.shutdownController.abort();
      expect(await expectEnd(doomed, Code.Unavailable, "SHUTTING_DOWN")).toBeLessThan(1_000);
      const chatEnd = await doomedChat.reader.untilError(1_000);
      expect(Code[chatEnd.error.code]).toBe("Unavailable");
      // New streams there are refused; the other instance is unaffected.
      const late = FeedReader.open(alice.on(inst.transport).feed);
      const refused = await late.error();
      expect(refused.events).toEqual([]);
      expect(Code[refused.error.code]).toBe("Unavailable");
      await send(alice, room, "after shutdown of one instance");
      expect(describe(await survivor.next())).toBe(
        `${room}:2:messageCreated:after shutdown of one instance`,
      );
    } finally {
      doomed.close();
      doomedChat.close();
      survivor.close();
    }
  });

  it("real server: shutdown() ends open streams (Connect HTTP/1.1, gRPC h2c, Chat) with Unavailable", async () => {
    // Shut down by the test itself.
    const { server, url } = await new TestServer(env).start();
    let stopped = false;
    try {
      const alice = await newUser(a);
      const room = await newRoom(alice);
      const h1 = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
      const h2 = createGrpcTransport({ baseUrl: url });
      const overH1 = FeedReader.open(authed(FeedService, h1, alice.token));
      const overH2 = FeedReader.open(authed(FeedService, h2, alice.token));
      const chat = new ChatStream(authed(FeedService, h2, alice.token));
      try {
        await overH1.ready();
        await overH2.ready();
        chat.command({ case: "subscribe", value: { positions: [] } }, "s1");
        await chat.until((r) => r.response.case === "ack");
        await send(alice, room, "before shutdown");
        expect(describe(await overH1.next())).toBe(`${room}:2:messageCreated:before shutdown`);
        expect(describe(await overH2.next())).toBe(`${room}:2:messageCreated:before shutdown`);
        const shutdown = server.shutdown(3_000);
        const ends = await Promise.all([
          expectEnd(overH1, Code.Unavailable, "SHUTTING_DOWN"),
          expectEnd(overH2, Code.Unavailable, "SHUTTING_DOWN"),
          chat.reader.untilError(3_000).then((r) => {
            expect(Code[r.error.code]).toBe("Unavailable");
            return 0;
          }),
        ]);
        for (const ms of ends) expect(ms).toBeLessThan(2_000);
        // The Chat client still holds its request side open; let it go.
        chat.close();
        const t0 = Date.now();
        await shutdown;
        stopped = true;
        // Nothing was left open: shutdown did not have to wait for its timeout.
        expect(Date.now() - t0).toBeLessThan(2_500);
      } finally {
        overH1.close();
        overH2.close();
        chat.close();
      }
    } finally {
      if (!stopped) await server.shutdown(1_000);
    }
  });
});

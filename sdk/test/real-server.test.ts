/**
 * The SDK against the real server (MariaDB + Redis, two instances on real
 * ports): the resumable feed over Subscribe on HTTP/1.1 and HTTP/2 and over
 * Chat follows a room while instances stop and start, resuming on
 * whichever answers, with every message once and in order; resets,
 * revoked tokens, stale positions and real error details; the browser
 * entry point on Node's fetch.
 */
import type { Transport } from "@connectrpc/connect";
import {
  type ChatClient,
  Code,
  ConnectError,
  createChatClient,
  createNodeTransport,
  decodeError,
  ErrorReason,
  type FeedItem,
  positionsToJson,
  type ResumableFeed,
  Visibility,
} from "@protochat/sdk/node";
import { createChatClient as createWebChatClient } from "@protochat/sdk/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../test/support/env.js";
import { TestServer } from "../../test/support/server.js";
import { uniqueName } from "../../test/support/users.js";

const password = "correct horse battery";

/** A load balancer in miniature: calls go to whichever instance is current. */
function balancer(targets: Transport[]): { transport: Transport; use(i: number): void } {
  let current = 0;
  return {
    use: (i) => {
      current = i;
    },
    transport: {
      unary: (...a) => (targets[current] as Transport).unary(...a),
      stream: (...a) => (targets[current] as Transport).stream(...a),
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Follower {
  items: FeedItem[];
  texts(): string[];
  seqs(): bigint[];
  done: Promise<ConnectError | undefined>;
}

function follow(feed: ResumableFeed, roomId: bigint): Follower {
  const items: FeedItem[] = [];
  const done = (async () => {
    try {
      for await (const item of feed) items.push(item);
      return undefined;
    } catch (err) {
      return ConnectError.from(err);
    }
  })();
  const events = () =>
    items.flatMap((i) => (i.case === "roomEvent" && i.value.roomId === roomId ? [i.value] : []));
  return {
    items,
    done,
    texts: () =>
      events().flatMap((e) =>
        e.change.case === "messageCreated" ? [e.change.value.message?.text ?? ""] : [],
      ),
    seqs: () => events().map((e) => e.seq),
  };
}

/** Dense and strictly increasing from the first. */
function expectDense(seqs: bigint[]): void {
  seqs.forEach((s, i) => {
    expect(s).toBe((seqs[0] ?? 0n) + BigInt(i));
  });
}

let env: TestEnv;
let a: TestServer;
let b: TestServer;

async function account(url: string, name = uniqueName("sdk")) {
  const client = createChatClient({ baseUrl: url, httpVersion: "1.1" });
  await client.auth.register({ username: name, password });
  const res = await client.login(name, password);
  return { client, name, user: res.user };
}

async function roomOf(owner: ChatClient, members: bigint[]): Promise<bigint> {
  const res = await owner.rooms.createRoom({
    name: uniqueName("room"),
    visibility: Visibility.PRIVATE,
    memberIds: members,
  });
  return res.room?.id ?? 0n;
}

beforeAll(async () => {
  env = await createTestEnv({ redis: true });
  a = new TestServer(env);
  b = new TestServer(env);
  await a.start();
  await b.start();
});
afterAll(async () => {
  await a.stop();
  await b.stop();
  await env.close();
});

describe("the feed across instances", () => {
  it.each([
    ["Subscribe over HTTP/1.1", "1.1", "follow"],
    ["Subscribe over HTTP/2", "2", "follow"],
    ["Chat over HTTP/2", "2", "chat"],
  ] as const)(
    "%s resumes on the other instance and back, nothing missed or doubled",
    async (_n, httpVersion, mode) => {
      const alice = await account(a.url);
      const bobName = uniqueName("bob");
      const bobSetup = await account(a.url, bobName);
      const room = await roomOf(alice.client, [bobSetup.user?.id ?? 0n]);
      const lb = balancer([
        createNodeTransport({ baseUrl: a.url, httpVersion }),
        createNodeTransport({ baseUrl: b.url, httpVersion }),
      ]);
      const bob = createChatClient({
        transport: lb.transport,
        token: await bobSetup.client.token(),
      });
      const feed =
        mode === "chat"
          ? bob.chat({ backoff: { baseMs: 50, capMs: 200 } })
          : bob.follow({ backoff: { baseMs: 50, capMs: 200 } });
      const f = follow(feed, room);
      try {
        await until(() => feed.status.state === "live", "live");
        const sent: string[] = [];
        const say = async (via: ChatClient, text: string) => {
          sent.push(text);
          await via.send(room, text);
        };
        for (let i = 0; i < 5; i++) await say(alice.client, `before ${i}`);
        await until(() => f.texts().length === 5, "the first five");

        // Instance A goes away; the balancer sends everyone to B.
        await a.stop();
        lb.use(1);
        const aliceOnB = createChatClient({
          baseUrl: b.url,
          httpVersion: "1.1",
          token: await alice.client.token(),
        });
        for (let i = 0; i < 5; i++) await say(aliceOnB, `during ${i}`);
        if (feed !== undefined && "send" in feed) {
          // Over Chat, bob talks on the stream too.
          sent.push("bob on the stream");
          await (feed as { send(r: bigint, t: string): Promise<unknown> }).send(
            room,
            "bob on the stream",
          );
        }
        await until(() => f.texts().length === sent.length, "the messages sent meanwhile");

        // A comes back on its port; B goes away; back to A.
        await a.start();
        lb.use(0);
        await b.stop();
        for (let i = 0; i < 5; i++) await say(alice.client, `after ${i}`);
        await until(() => f.texts().length === sent.length, "everything");
        await b.start();

        expect(f.texts()).toEqual(sent);
        expectDense(f.seqs());
        const reconnects = f.items.filter(
          (i) => i.case === "status" && i.value.state === "waiting",
        );
        expect(reconnects.length).toBeGreaterThanOrEqual(2);
      } finally {
        feed.close();
        await f.done;
        if (!a.running) await a.start();
        if (!b.running) await b.start();
      }
    },
  );
});

describe("the feed with the real server's answers", () => {
  it("hands over a reset with the history up to it when the service was away too long", async () => {
    const small = new TestServer(env, { feed: { maxReplay: 3 } });
    await small.start();
    try {
      const alice = await account(small.url);
      const bob = await account(small.url);
      const room = await roomOf(alice.client, [bob.user?.id ?? 0n]);
      const first = bob.client.follow();
      const f1 = follow(first, room);
      await until(() => first.status.state === "live", "live");
      await alice.client.send(room, "seen");
      await until(() => f1.texts().length === 1, "the first message");
      const saved = positionsToJson(first.positions());
      first.close();
      await f1.done;

      for (let i = 0; i < 6; i++) await alice.client.send(room, `missed ${i}`);
      const second = bob.client.follow({ positions: saved, reloadOnReset: { limit: 4 } });
      const f2 = follow(second, room);
      await until(() => f2.items.some((i) => i.case === "reset"), "the reset");
      await alice.client.send(room, "after");
      await until(() => f2.texts().length === 1, "the message after the reset");
      second.close();
      await f2.done;
      const reset = f2.items.find((i) => i.case === "reset");
      if (reset?.case !== "reset") throw new Error("no reset");
      expect(reset.previousSeq).toBe(BigInt(saved[String(room)] ?? "0"));
      expect(reset.history?.messages.map((m) => m.text)).toEqual([
        "missed 2",
        "missed 3",
        "missed 4",
        "missed 5",
      ]);
      expect(reset.history?.messages.at(-1)?.seq).toBe(reset.value.lastSeq);
      expect(f2.texts()).toEqual(["after"]);
      expect(f2.seqs()).toEqual([reset.value.lastSeq + 1n]);
    } finally {
      await small.stop();
    }
  });

  it("logs in again through getToken when the token is revoked, and misses nothing", async () => {
    const alice = await account(a.url);
    const bobAccount = await account(a.url);
    const room = await roomOf(alice.client, [bobAccount.user?.id ?? 0n]);
    let logins = 0;
    const bob = createChatClient({
      baseUrl: a.url,
      getToken: async () => {
        logins += 1;
        const anon = createChatClient({ baseUrl: a.url });
        return (await anon.auth.login({ username: bobAccount.name, password })).accessToken;
      },
    });
    const feed = bob.follow({ backoff: { baseMs: 20, capMs: 100 } });
    const f = follow(feed, room);
    try {
      await until(() => feed.status.state === "live", "live");
      await alice.client.send(room, "one");
      await until(() => f.texts().length === 1, "one");
      await bob.auth.logoutAll({}); // every token of bob's is revoked, the feed's too
      await alice.client.send(room, "two");
      await until(() => f.texts().length === 2, "two");
      expect(f.texts()).toEqual(["one", "two"]);
      expect(logins).toBe(2);
      const stop = f.items.find((i) => i.case === "status" && i.value.state === "waiting");
      expect(stop).toBeUndefined(); // refreshed at once, no backoff
    } finally {
      feed.close();
      await f.done;
    }
  });

  it("drops a saved position of a room left meanwhile, and stops on a position from another server", async () => {
    const alice = await account(a.url);
    const bob = await account(a.url);
    const kept = await roomOf(alice.client, [bob.user?.id ?? 0n]);
    const left = await roomOf(alice.client, [bob.user?.id ?? 0n]);
    await bob.client.rooms.leaveRoom({ roomId: left });
    const feed = bob.client.follow({
      positions: { [String(kept)]: "1", [String(left)]: "1" },
      backoff: { baseMs: 10, capMs: 10 },
    });
    const f = follow(feed, kept);
    await until(() => feed.status.state === "live", "live");
    feed.close();
    await f.done;
    expect(f.items.some((i) => i.case === "roomRemoved" && i.value.roomId === left)).toBe(true);
    expect(feed.positions().map((p) => p.roomId)).toEqual([kept]);

    const wrong = bob.client.follow({ positions: { [String(kept)]: "999999" } });
    const err = await follow(wrong, kept).done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(decodeError(err).fieldViolations[0]?.field).toBe("positions[0].last_seq");
  });

  it("decodes the server's error details", async () => {
    const alice = await account(a.url);
    const again = createChatClient({ baseUrl: a.url });
    const taken = await again.auth
      .register({ username: alice.name, password })
      .catch((e: unknown) => decodeError(e));
    expect(taken).toMatchObject({
      code: Code.AlreadyExists,
      reason: ErrorReason.USERNAME_TAKEN,
      domain: "chat.v1",
    });
    const bad = await alice.client.send(1n, "  ", { clientMsgId: "x" }).catch(decodeError);
    expect(bad).toMatchObject({ code: Code.InvalidArgument, reason: ErrorReason.INVALID_FIELDS });
    expect("fieldViolations" in bad && bad.fieldViolations.map((v) => v.field)).toContain("text");

    // The Chat stream needs HTTP/2: over HTTP/1.1 it stops at once.
    const h1 = alice.client.chat();
    const stopped = await follow(h1, 0n).done;
    expect(stopped?.code).toBe(Code.FailedPrecondition);
    expect(stopped?.rawMessage).toMatch(/needs HTTP\/2/);

    // The same error from a command on the Chat stream, details included.
    const h2 = createChatClient({ baseUrl: a.url, token: await alice.client.token() });
    const feed = h2.chat();
    const f = follow(feed, 0n);
    try {
      const onStream = await feed.send(1n, "  ", { clientMsgId: "x" }).catch(decodeError);
      expect(onStream).toMatchObject({
        code: Code.InvalidArgument,
        reason: ErrorReason.INVALID_FIELDS,
        fieldViolations: [expect.objectContaining({ field: "text" })],
      });
    } finally {
      feed.close();
      await f.done;
    }
  });

  it("asks the server for a heartbeat interval and gets it", async () => {
    const alice = await account(a.url);
    const feed = alice.client.follow({ heartbeatIntervalMs: 1_000, heartbeats: true });
    const f = follow(feed, 0n);
    try {
      await until(
        () => f.items.filter((i) => i.case === "heartbeat").length >= 2,
        "heartbeats",
        10_000,
      );
      const ready = f.items.find((i) => i.case === "ready");
      expect(ready?.case === "ready" && ready.value.heartbeatIntervalMs).toBe(1_000);
    } finally {
      feed.close();
      await f.done;
    }
  });
});

describe("the browser entry point", () => {
  it("follows and sends through connect-web, and reports a server that is gone as UNAVAILABLE", async () => {
    const alice = await account(a.url);
    const bob = await account(a.url);
    const room = await roomOf(alice.client, [bob.user?.id ?? 0n]);
    const web = createWebChatClient({ baseUrl: a.url, token: await bob.client.token() });
    const feed = web.follow({ backoff: { baseMs: 50, capMs: 100 } });
    const f = follow(feed, room);
    try {
      await until(() => feed.status.state === "live", "live");
      await web.send(room, "from the browser SDK");
      await until(() => f.texts().length === 1, "the echo");
      await a.stop();
      await until(
        () => f.items.filter((i) => i.case === "status" && i.value.state === "waiting").length >= 2,
        "a failed reconnect",
      );
      const errors = f.items.flatMap((i) =>
        i.case === "status" && i.value.state === "waiting" ? [i.value.error.code] : [],
      );
      // The shutdown itself, then connection refused: fetch's TypeError, mapped.
      expect(errors.every((c) => c === Code.Unavailable)).toBe(true);
      await a.start();
      await alice.client.send(room, "back");
      await until(() => f.texts().length === 2, "the message after the restart");
      expect(f.texts()).toEqual(["from the browser SDK", "back"]);
    } finally {
      feed.close();
      await f.done;
      if (!a.running) await a.start();
    }
  });
});

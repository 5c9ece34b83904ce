/**
 * Retried sends (one clientMsgId, backoff with jitter, RetryInfo honoured,
 * hung attempts cut), error decoding, and the token on every call.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import {
  BadRequestSchema,
  createChatClientFromTransport,
  decodeError,
  ErrorInfoSchema,
  ErrorReason,
  isTransient,
  newClientMsgId,
  RetryInfoSchema,
} from "../src/index.js";
import { FakeChat } from "./fake-chat.js";

function setup(retryRandom = () => 0) {
  const fake = new FakeChat();
  const token = fake.login(1n);
  fake.addRoom(10n, [1n, 2n], 0);
  const onRetry = vi.fn();
  const client = createChatClientFromTransport({
    transport: fake.transport(),
    token,
    retry: { backoff: { baseMs: 10, capMs: 40 }, random: retryRandom, onRetry },
  });
  return { fake, client, onRetry };
}

function rateLimited(ms: number): ConnectError {
  return new ConnectError("slow down", Code.ResourceExhausted, undefined, [
    {
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, {
        retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
      }),
    },
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "RATE_LIMITED" }) },
  ]);
}

describe("send", () => {
  it("retries transient failures with the same clientMsgId and stores the message once", async () => {
    const { fake, client, onRetry } = setup();
    fake.sendGate = (_req, attempt) => {
      if (attempt === 0) throw new ConnectError("restarting", Code.Unavailable);
      // How connect-node reports a server that died mid-call (HTTP/1.1, HTTP/2).
      if (attempt === 1) throw new ConnectError("socket hang up", Code.Aborted);
      if (attempt === 2) throw new ConnectError("stream closed with CANCEL", Code.Canceled);
    };
    // The second attempt is stored but its answer is lost on the way back.
    fake.sendAfter = (_req, attempt) => {
      if (attempt === 3) throw new ConnectError("connection reset", Code.Unavailable);
    };
    const res = await client.send(10n, "hello");
    expect(res.duplicate).toBe(true); // the third attempt found the stored one
    const ids = fake.sends.map((s) => s.clientMsgId);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(fake.rooms.get(10n)?.messages.map((m) => m.text)).toEqual(["hello"]);
    expect(onRetry).toHaveBeenCalledTimes(4);
  });

  it("never retries sooner than RetryInfo says, and backs off with full jitter otherwise", async () => {
    const { fake, client, onRetry } = setup(() => 0.5);
    fake.sendGate = (_req, attempt) => {
      if (attempt === 0) throw rateLimited(120);
      if (attempt === 1) throw new ConnectError("busy", Code.Unavailable);
    };
    const t0 = Date.now();
    await client.send(10n, "later");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
    expect(onRetry.mock.calls.map((c) => c[0].delayMs)).toEqual([120, 10]); // 0.5 × 20 ms
  });

  it("cuts a hung attempt (DEADLINE_EXCEEDED) and tries again", async () => {
    const { fake, client } = setup();
    fake.sendGate = async (_req, attempt) => {
      if (attempt === 0) await new Promise((r) => setTimeout(r, 2_000));
    };
    const t0 = Date.now();
    const res = await client.send(10n, "slow", { timeoutMs: 100 });
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(res.message?.text).toBe("slow");
  });

  it("does not retry what cannot succeed, nor RESOURCE_EXHAUSTED without RetryInfo", async () => {
    for (const err of [
      new ConnectError("bad", Code.InvalidArgument),
      new ConnectError("no", Code.PermissionDenied),
      new ConnectError("too many feeds", Code.ResourceExhausted),
    ]) {
      const { fake, client } = setup();
      fake.sendGate = () => {
        throw err;
      };
      await expect(client.send(10n, "x")).rejects.toMatchObject({ code: err.code });
      expect(fake.sends).toHaveLength(1);
    }
  });

  it("gives up after maxAttempts and keeps a caller's clientMsgId and reply", async () => {
    const { fake, client } = setup();
    fake.sendGate = () => {
      throw new ConnectError("down", Code.Unavailable);
    };
    await expect(
      client.send(10n, "x", { clientMsgId: "mine-1", retry: { maxAttempts: 3 }, replyToId: 7n }),
    ).rejects.toMatchObject({ code: Code.Unavailable });
    expect(fake.sends.map((s) => [s.clientMsgId, s.replyToId])).toEqual([
      ["mine-1", 7n],
      ["mine-1", 7n],
      ["mine-1", 7n],
    ]);
  });

  it("stops retrying when its signal aborts", async () => {
    const { fake, client } = setup();
    fake.sendGate = () => {
      throw new ConnectError("down", Code.Unavailable);
    };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(
      client.send(10n, "x", {
        signal: ac.signal,
        retry: { backoff: { baseMs: 20, capMs: 20 }, random: () => 0.99, maxAttempts: 100 },
      }),
    ).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("makes ids the contract accepts, also without crypto.randomUUID", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newClientMsgId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});

describe("decodeError", () => {
  it("reads the reason, field violations and retry delay", () => {
    const bad = new ConnectError("invalid request", Code.InvalidArgument, undefined, [
      {
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: [{ field: "text", description: "must not be blank" }],
        }),
      },
      {
        desc: ErrorInfoSchema,
        value: create(ErrorInfoSchema, { reason: "INVALID_FIELDS", domain: "chat.v1" }),
      },
    ]);
    expect(decodeError(bad)).toMatchObject({
      code: Code.InvalidArgument,
      codeName: "invalid_argument",
      message: "invalid request",
      reason: ErrorReason.INVALID_FIELDS,
      reasonName: "INVALID_FIELDS",
      domain: "chat.v1",
      fieldViolations: [{ field: "text", description: "must not be blank" }],
      retryDelayMs: undefined,
    });
    const limited = decodeError(rateLimited(1_500));
    expect([limited.reason, limited.retryDelayMs]).toEqual([ErrorReason.RATE_LIMITED, 1_500]);
    expect(isTransient(rateLimited(10))).toBe(true);
    const plain = decodeError(new Error("boom"));
    expect([plain.code, plain.reason, plain.reasonName]).toEqual([
      Code.Unknown,
      ErrorReason.UNSPECIFIED,
      undefined,
    ]);
    const future = decodeError(
      new ConnectError("x", Code.Internal, undefined, [
        { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "SOMETHING_NEW" }) },
      ]),
    );
    expect([future.reason, future.reasonName]).toEqual([ErrorReason.UNSPECIFIED, "SOMETHING_NEW"]);
  });
});

describe("tokens", () => {
  it("logs in, sends the token on every call but Login, and forgets it on logout", async () => {
    const fake = new FakeChat();
    fake.addRoom(10n, [7n], 0);
    const client = createChatClientFromTransport({ transport: fake.transport() });
    await expect(client.users.getMe({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    const res = await client.login("user7", "pw");
    expect((await client.users.getMe({})).user?.id).toBe(7n);
    expect(await client.token()).toBe(res.accessToken);
    client.setToken(undefined);
    expect(await client.token()).toBeUndefined();
  });

  it("repeats a refused unary call once with the token getToken gives next", async () => {
    const fake = new FakeChat();
    fake.login(1n, "new");
    const seen: (string | undefined)[] = [];
    let next = "old";
    const client = createChatClientFromTransport({
      transport: fake.transport(),
      getToken: ({ rejected }) => {
        seen.push(rejected);
        const t = next;
        next = "new";
        return t;
      },
    });
    expect((await client.users.getMe({})).user?.id).toBe(1n);
    expect(seen).toEqual([undefined, "old"]);
    // Still refused with the next token: the error reaches the caller (no loop).
    fake.tokens.clear();
    await expect(client.users.getMe({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(seen).toEqual([undefined, "old", "new"]);
  });
});

import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "@protochat/sdk";
import { describe, expect, it } from "vitest";
import { blocked, blockOf, expired, secondsLeft, unmuted } from "./send-blocks.js";

function error(code: Code, reason: string, delayMs?: number): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    { desc: ErrorInfoSchema, value: { reason, domain: "chat.v1" } },
  ];
  if (delayMs !== undefined) {
    details.push({
      desc: RetryInfoSchema,
      value: {
        retryDelay: { seconds: BigInt(Math.floor(delayMs / 1000)), nanos: (delayMs % 1000) * 1e6 },
      },
    });
  }
  return new ConnectError("no", code, undefined, details);
}

describe("blockOf", () => {
  it("reads rate limits and mutes with RetryInfo, and nothing else", () => {
    expect(blockOf(error(Code.ResourceExhausted, "RATE_LIMITED", 2_500), 1_000)).toEqual({
      kind: "rate",
      until: 3_500,
    });
    expect(blockOf(error(Code.PermissionDenied, "MUTED", 60_000), 0)).toEqual({
      kind: "muted",
      until: 60_000,
    });
    // Without RetryInfo nobody can say when: an ordinary failure.
    expect(blockOf(error(Code.ResourceExhausted, "RATE_LIMITED"), 0)).toBeUndefined();
    expect(blockOf(error(Code.PermissionDenied, "NOT_MEMBER", 1_000), 0)).toBeUndefined();
    expect(blockOf(new ConnectError("down", Code.Unavailable), 0)).toBeUndefined();
  });
});

describe("blocks", () => {
  it("keep the later end, collect refused texts, and expire once taken", () => {
    let b = blocked({}, "1", { kind: "rate", until: 5_000 }, "one");
    b = blocked(b, "1", { kind: "rate", until: 4_000 }, "two");
    expect(b["1"]).toEqual({ kind: "rate", until: 5_000, returned: ["one", "two"] });
    // Texts not yet taken keep the record after the end.
    expect(expired(b, "1", 6_000)).toBe(b);
    const taken = { "1": { kind: "rate" as const, until: 5_000, returned: [] } };
    expect(expired(taken, "1", 4_999)).toBe(taken);
    expect(expired(taken, "1", 5_000)).toEqual({});
  });

  it("lift a mute at once, never a rate limit", () => {
    const rate = blocked({}, "1", { kind: "rate", until: 5_000 });
    expect(unmuted(rate, "1")).toBe(rate);
    const muted = blocked({}, "1", { kind: "muted", until: 9_000 });
    expect(unmuted(muted, "1")).toEqual({});
  });

  it("count whole seconds up", () => {
    const b = { kind: "rate" as const, until: 3_000, returned: [] };
    expect([0, 1, 999, 1_000, 2_001, 2_999, 3_000, 4_000].map((n) => secondsLeft(b, n))).toEqual([
      3, 3, 3, 2, 1, 1, 0, 0,
    ]);
    expect(secondsLeft(undefined, 0)).toBe(0);
  });
});

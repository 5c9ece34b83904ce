import { describe, expect, it } from "vitest";
import { seenAt } from "./receipts.js";

describe("seenAt", () => {
  const messages = [{ seq: 2n }, { seq: 5n }, { seq: 9n }];
  it("puts each reader under the newest message they read, not oneself", () => {
    const at = seenAt(messages, { "1": 5n, "2": 7n, "3": 100n, "4": 1n, me: 9n }, "me");
    expect([...at.entries()]).toEqual([
      [5n, ["1", "2"]],
      [9n, ["3"]],
    ]);
  });
  it("is empty without receipts or messages", () => {
    expect(seenAt(messages, undefined, undefined).size).toBe(0);
    expect(seenAt([], { "1": 3n }, undefined).size).toBe(0);
  });
});

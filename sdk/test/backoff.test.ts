import { describe, expect, it } from "vitest";
import { backoffCeiling, backoffDelay } from "../src/backoff.js";

describe("backoff with full jitter", () => {
  it("doubles the ceiling from 0.5 s up to 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffCeiling(a))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it("draws the delay uniformly below the ceiling", () => {
    expect(backoffDelay(0, () => 0)).toBe(0);
    expect(backoffDelay(0, () => 0.999)).toBe(499);
    expect(backoffDelay(3, () => 0.5)).toBe(2000);
    expect(backoffDelay(50, () => 0.5)).toBe(15000);
  });
});

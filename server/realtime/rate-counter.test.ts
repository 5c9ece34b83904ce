import { describe, expect, it } from "vitest";
import { RateCounter } from "./rate-counter.js";

describe("RateCounter", () => {
  it("averages the last window and forgets older seconds", () => {
    let now = 100_000;
    const c = new RateCounter(10, () => now);
    c.add(30);
    now += 1_000;
    c.add(20);
    expect(c.perSecond()).toBe(5);
    now += 9_000; // the first second left the window
    expect(c.perSecond()).toBe(2);
    now += 1_000;
    expect(c.perSecond()).toBe(0);
    expect(c.total).toBe(50);
  });

  it("reuses a bucket for a new second", () => {
    let now = 0;
    const c = new RateCounter(2, () => now);
    c.add(4);
    now = 2_000;
    c.add(1);
    expect(c.perSecond()).toBe(0.5);
  });
});

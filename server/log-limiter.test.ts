import { describe, expect, it } from "vitest";
import { LogLimiter } from "./log-limiter.js";

function fakeLogger() {
  const lines: unknown[][] = [];
  return { lines, logger: { warn: (...a: unknown[]) => lines.push(a) } as never };
}

describe("LogLimiter", () => {
  it("lets a burst through, then a steady rate, and summarises what it dropped", () => {
    let now = 0;
    const { lines, logger } = fakeLogger();
    const l = new LogLimiter(logger, { burst: 3, perSecond: 2 }, () => now);
    const allowed = Array.from({ length: 10 }, () => l.allow("a")).filter(Boolean).length;
    expect(allowed).toBe(3);
    // Another kind has its own budget.
    expect(l.allow("b")).toBe(true);
    now += 1_000; // two more tokens
    expect([l.allow("a"), l.allow("a"), l.allow("a")]).toEqual([true, true, false]);
    l.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toEqual({ dropped: { a: 8 }, total: 8 });
    l.flush();
    expect(lines).toHaveLength(1);
  });

  it("forgets the least recent kind beyond maxKinds", () => {
    const now = 0;
    const { logger } = fakeLogger();
    const l = new LogLimiter(logger, { burst: 1, perSecond: 0, maxKinds: 2 }, () => now);
    expect(l.allow("a")).toBe(true);
    expect(l.allow("b")).toBe(true);
    expect(l.allow("c")).toBe(true); // "a" forgotten
    expect(l.allow("a")).toBe(true); // fresh budget again
    expect(l.allow("c")).toBe(false);
    l.flush();
  });
});

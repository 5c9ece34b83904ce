import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decodeBus } from "../bus/bus-format.js";
import { ReceiptCoalescer } from "./receipt-coalescer.js";

describe("ReceiptCoalescer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup() {
    const sent: string[] = [];
    const c = new ReceiptCoalescer(
      (channel, payload) => {
        const p = decodeBus(payload).payload;
        if (p.case === "readReceipt")
          sent.push(`${channel} ${p.value.userId}@${p.value.lastReadSeq}`);
      },
      1000,
      () => Date.now(),
    );
    return { c, sent };
  }

  it("sends the first at once, then at most one a second per member and room, the latest", () => {
    const { c, sent } = setup();
    c.moved(1n, 7n, 1n);
    expect(sent).toEqual(["room:1 7@1"]);
    for (let s = 2n; s <= 50n; s++) c.moved(1n, 7n, s);
    // Another member and another room are not held up.
    c.moved(1n, 8n, 3n);
    c.moved(2n, 7n, 4n);
    expect(sent).toEqual(["room:1 7@1", "room:1 8@3", "room:2 7@4"]);
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)).toBe("room:1 7@50");
    expect(sent).toHaveLength(4);
    // Quiet for a second: the next goes at once again.
    vi.advanceTimersByTime(1000);
    c.moved(1n, 7n, 51n);
    expect(sent.at(-1)).toBe("room:1 7@51");
  });

  it("drops what waits on close", () => {
    const { c, sent } = setup();
    c.moved(1n, 7n, 1n);
    c.moved(1n, 7n, 2n);
    c.close();
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual(["room:1 7@1"]);
  });
});

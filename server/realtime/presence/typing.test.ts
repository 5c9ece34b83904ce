/**
 * Unit tests of typing indicators (typing.ts) on fake timers: "typing" at
 * most once per refresh interval while the user keeps typing, "stopped"
 * once, when told or when the last call expires.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tuning } from "../../config.js";
import { decodeBus } from "../bus/bus-format.js";
import { TypingTracker } from "./typing.js";

/** What the tracker published: `channel user typing|stopped`, in order. */
function recorder() {
  const sent: string[] = [];
  const send = (channel: string, payload: Uint8Array) => {
    const msg = decodeBus(payload).payload;
    if (msg.case !== "typing") throw new Error(`unexpected ${msg.case}`);
    const { roomId, userId, typing } = msg.value;
    if (channel !== `room:${roomId}`) throw new Error(`typing of room ${roomId} on ${channel}`);
    sent.push(`${channel} ${userId} ${typing ? "typing" : "stopped"}`);
  };
  return { sent, send };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("TypingTracker", () => {
  it("says typing once per refresh interval, however often it is called", () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send, 6_000, 3_000);
    t.set(1n, 7n, true);
    expect(sent).toEqual(["room:1 7 typing"]);
    // A keystroke every 500 ms for 5 s: one more "typing" after 3 s.
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(500);
      t.set(1n, 7n, true);
    }
    expect(sent).toEqual(["room:1 7 typing", "room:1 7 typing"]);
    t.clear();
  });

  it("says stopped once, when told, and nothing for a user who was not typing", () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send, 6_000, 3_000);
    t.set(1n, 8n, false);
    expect(sent).toEqual([]);
    t.set(1n, 7n, true);
    t.set(1n, 7n, false);
    t.set(1n, 7n, false);
    expect(sent).toEqual(["room:1 7 typing", "room:1 7 stopped"]);
    // The expiry of the stopped burst was cancelled.
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(2);
  });

  it("expires the expiry interval after the last call, not the first", () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send, 6_000, 3_000);
    t.set(1n, 7n, true);
    vi.advanceTimersByTime(4_000);
    t.set(1n, 7n, true); // a later keystroke pushes the expiry back
    vi.advanceTimersByTime(5_999);
    expect(sent.filter((s) => s.endsWith("stopped"))).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)).toBe("room:1 7 stopped");
    // After it stopped, typing again is news at once.
    t.set(1n, 7n, true);
    expect(sent.at(-1)).toBe("room:1 7 typing");
    t.clear();
  });

  it("keeps users and rooms apart", () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send, 6_000, 3_000);
    t.set(1n, 7n, true);
    t.set(1n, 8n, true);
    t.set(2n, 7n, true);
    t.set(1n, 8n, false);
    vi.advanceTimersByTime(6_000);
    expect(sent).toEqual([
      "room:1 7 typing",
      "room:1 8 typing",
      "room:2 7 typing",
      "room:1 8 stopped",
      "room:1 7 stopped",
      "room:2 7 stopped",
    ]);
  });

  it("drops every timer on clear, saying nothing more", () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send);
    t.set(1n, 7n, true);
    t.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(sent).toEqual(["room:1 7 typing"]);
  });

  it(`defaults to tuning.typing (${tuning.typing.expireMs} ms expiry)`, () => {
    const { sent, send } = recorder();
    const t = new TypingTracker(send);
    t.set(1n, 7n, true);
    vi.advanceTimersByTime(tuning.typing.expireMs - 1);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)).toBe("room:1 7 stopped");
  });
});

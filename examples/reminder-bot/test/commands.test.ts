import { describe, expect, it } from "vitest";
import { formatDuration, MAX_DELAY_MS, parseCommand, parseDuration } from "../src/commands.js";

describe("commands", () => {
  it("parses durations and prints them back", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("10")).toBeUndefined();
    expect(parseDuration("1x")).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(0)).toBe("0s");
  });

  it("parses commands and explains mistakes", () => {
    expect(parseCommand("!ping")).toEqual({ kind: "ping", rest: "" });
    expect(parseCommand("  !PING  hello there ")).toEqual({ kind: "ping", rest: "hello there" });
    expect(parseCommand("!remind 10m stretch your legs")).toEqual({
      kind: "remind",
      delayMs: 600_000,
      text: "stretch your legs",
    });
    expect(parseCommand("!remind soon stretch")?.kind).toBe("invalid");
    expect(parseCommand("!remind 10m")?.kind).toBe("invalid");
    expect(parseCommand(`!remind ${MAX_DELAY_MS / 86_400_000 + 1}d x`)).toMatchObject({
      kind: "invalid",
      reply: expect.stringContaining("30 days"),
    });
    expect(parseCommand("!dance")).toMatchObject({ kind: "invalid" });
    expect(parseCommand("hello !ping")).toBeUndefined();
    expect(parseCommand("!reminders")).toEqual({ kind: "reminders" });
  });
});

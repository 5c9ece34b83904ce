import { describe, expect, it } from "vitest";
import { dayLabel, friendlyTime, initials, splitMentions, typingText } from "./format.js";

describe("friendly times", () => {
  const now = new Date(2025, 5, 10, 18, 30);
  it("shows today, yesterday, this year and older", () => {
    expect(friendlyTime(new Date(2025, 5, 10, 14, 5), now)).toBe("14:05");
    expect(friendlyTime(new Date(2025, 5, 9, 14, 5), now)).toBe("Yesterday 14:05");
    expect(friendlyTime(new Date(2025, 2, 3, 14, 5), now)).toBe("Mar 3 14:05");
    expect(friendlyTime(new Date(2023, 2, 3, 9, 7), now)).toBe("Mar 3, 2023 09:07");
  });
  it("labels day separators", () => {
    expect(dayLabel(new Date(2025, 5, 10, 1), now)).toBe("Today");
    expect(dayLabel(new Date(2025, 5, 9, 23), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2025, 2, 3), now)).toBe("Monday, March 3");
    expect(dayLabel(new Date(2023, 2, 3), now)).toBe("Friday, March 3, 2023");
  });
});

describe("names and text", () => {
  it("makes initials", () => {
    expect(initials("Alice Smith")).toBe("AS");
    expect(initials("bob")).toBe("B");
    expect(initials("jane_doe")).toBe("JD");
  });
  it("says who is typing", () => {
    expect(typingText(["Alice"])).toBe("Alice is typing…");
    expect(typingText(["Alice", "Bob"])).toBe("Alice and Bob are typing…");
    expect(typingText(["A", "B", "C", "D"])).toBe("Several people are typing…");
  });
  it("finds @mentions without touching the rest", () => {
    expect(splitMentions("hi @bob, mail a@b.c <b>x</b>")).toEqual([
      { text: "hi " },
      { text: "@bob", mention: "bob" },
      { text: ", mail a@b.c <b>x</b>" },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { snippetParts } from "./snippet.js";

describe("snippetParts", () => {
  it("marks code point ranges", () => {
    expect(snippetParts("今天天气很好", [{ start: 2, end: 4 }])).toEqual([
      { text: "今天", hit: false },
      { text: "天气", hit: true },
      { text: "很好", hit: false },
    ]);
  });
  it("counts astral characters as one and clamps ranges", () => {
    expect(snippetParts("😀 rain", [{ start: 2, end: 99 }])).toEqual([
      { text: "😀 ", hit: false },
      { text: "rain", hit: true },
    ]);
    expect(snippetParts("ab", [])).toEqual([{ text: "ab", hit: false }]);
  });
});

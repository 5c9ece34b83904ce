/** Unit tests of visible names and texts. */
import { describe, expect, it } from "vitest";
import { isInvisible, nameProblem, textProblem } from "./visible-text.js";

describe("visible text", () => {
  it("finds names and texts that show nothing", () => {
    for (const s of [
      "\u200B",
      "\u200B\u200C\u200D",
      "\u3164",
      "\u2800\u2800",
      "\uFE0F",
      "\u0301",
      " \u2060 ",
    ]) {
      expect(isInvisible(s), JSON.stringify(s)).toBe(true);
    }
    for (const s of ["a", "é", "👍", "\u200Bx", "שלום", "e\u0301"]) {
      expect(isInvisible(s), JSON.stringify(s)).toBe(false);
    }
  });

  it("refuses bidi controls in names only", () => {
    expect(nameProblem("alice\u202Eevil", "display_name")?.description).toMatch(/bidi/);
    expect(nameProblem("\u2066x\u2069", "name")?.field).toBe("name");
    expect(nameProblem("\u200B", "display_name")?.description).toMatch(/visible/);
    expect(nameProblem("", "display_name")).toBeUndefined();
    expect(nameProblem("Ada Lovelace", "display_name")).toBeUndefined();
    expect(textProblem("\u202Bשלום\u202C", "text")).toBeUndefined();
    expect(textProblem("\u200B\u200B", "text")?.field).toBe("text");
  });
});

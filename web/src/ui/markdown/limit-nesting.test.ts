import { describe, expect, it } from "vitest";
import { limitNesting } from "./limit-nesting.js";

describe("limitNesting", () => {
  it("leaves shallow Markdown alone", () => {
    for (const t of ["- a\n- b", "> quote\n> > inner", "1. one\n2. two", "a - b - c", "**x**"]) {
      expect(limitNesting(t, 3)).toBe(t);
    }
  });

  it("escapes the markers beyond the limit on each line", () => {
    expect(limitNesting("- - - - - deep", 3)).toBe("- - - \\- - deep");
    expect(limitNesting(">>>>>> deep", 3)).toBe(">>>\\>>> deep");
    expect(limitNesting("> - > - x", 2)).toBe("> - \\> - x");
    expect(limitNesting("1. 2. 3. 4. x", 2)).toBe("1. 2. 3\\. 4. x");
    expect(limitNesting("ok\n- - - - x\nok", 2)).toBe("ok\n- - \\- - x\nok");
  });

  it("is linear on thousands of levels", () => {
    const out = limitNesting("- ".repeat(2000), 10);
    expect(out.startsWith(`${"- ".repeat(10)}\\- `)).toBe(true);
    expect(out.length).toBe(4001);
  });
});

import { describe, expect, it } from "vitest";
import { disposition, parseRange } from "./download-route.js";

describe("parseRange", () => {
  it("reads one range within the size", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-1000", 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=50-5000", 100)).toEqual({ start: 50, end: 99 });
  });
  it("sends the whole file for what it does not serve", () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange("bytes=0-1,5-6", 100)).toBeNull();
    expect(parseRange("items=0-1", 100)).toBeNull();
    expect(parseRange("bytes=9-3", 100)).toBeNull();
    expect(parseRange("bytes=0-9", 100, '"old"', '"new"')).toBeNull();
    expect(parseRange("bytes=0-9", 100, '"new"', '"new"')).toEqual({ start: 0, end: 9 });
  });
  it("refuses ranges past the end", () => {
    expect(parseRange("bytes=100-", 100)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 100)).toBe("unsatisfiable");
  });
});

describe("disposition", () => {
  it("gives an ASCII fallback and the UTF-8 name", () => {
    expect(disposition("attachment", 'résumé "1".pdf')).toBe(
      `attachment; filename="r_sum_ _1_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.pdf`,
    );
  });
});

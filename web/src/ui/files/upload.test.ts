import { describe, expect, it } from "vitest";
import { fitSize } from "./Attachments.js";
import { formatBytes } from "./upload.js";

describe("formatBytes", () => {
  it("uses binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(5n * 1024n * 1024n)).toBe("5.0 MB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MB");
  });
});

describe("fitSize", () => {
  it("fits into the box, keeping the ratio, never enlarging", () => {
    expect(fitSize(640, 480)).toEqual({ w: 320, h: 240 });
    expect(fitSize(100, 50)).toEqual({ w: 100, h: 50 });
    expect(fitSize(0, 0)).toEqual({ w: 320, h: 320 });
  });
});

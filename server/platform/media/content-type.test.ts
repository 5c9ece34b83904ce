import { describe, expect, it } from "vitest";
import { looksLikeText, servedInline } from "./content-type.js";

describe("looksLikeText", () => {
  it("takes UTF-8 text, even cut in the middle of a character", () => {
    expect(looksLikeText(Buffer.from("hello\tworld\r\n"))).toBe(true);
    const euro = Buffer.from("price: 5 €");
    expect(looksLikeText(euro.subarray(0, euro.length - 1))).toBe(true);
  });
  it("refuses binary and broken UTF-8", () => {
    expect(looksLikeText(Buffer.from([0x68, 0x00, 0x69]))).toBe(false);
    expect(looksLikeText(Buffer.from([0xff, 0xfe, 0x41, 0x41]))).toBe(false);
    expect(looksLikeText(Buffer.alloc(0))).toBe(false);
  });
});

describe("servedInline", () => {
  it("shows images and plain text, downloads active types", () => {
    expect(servedInline("image/png")).toBe(true);
    expect(servedInline("text/plain; charset=utf-8")).toBe(true);
    for (const t of ["text/html", "image/svg+xml", "application/pdf", "application/octet-stream"]) {
      expect(servedInline(t)).toBe(false);
    }
  });
});

/** Unit tests of page tokens and cursors (pagination.ts), tampered tokens included. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  decodeNameCursor,
  decodePageToken,
  decodeTimeCursor,
  encodeNameCursor,
  encodePageToken,
  encodeTimeCursor,
} from "./pagination.js";

/** The fields an InvalidArgument thrown by `fn` names; fails if `fn` does not throw one. */
function badFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    const ce = err as ConnectError;
    expect(Code[ce.code]).toBe(Code[Code.InvalidArgument]);
    return (ce.findDetails(BadRequestSchema)[0]?.fieldViolations ?? []).map((v) => v.field);
  }
  throw new Error("expected InvalidArgument, but it decoded");
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");

describe("page tokens", () => {
  it("round-trip any cursor as an opaque, URL-safe token", () => {
    for (const cursor of ["", "t:1:2", '["n","a:b",1]', "ünïcödé ✓ \u0000 \n"]) {
      const token = encodePageToken(cursor);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodePageToken(token)).toBe(cursor);
    }
  });

  it("read the empty token as the first page", () => {
    expect(decodePageToken("")).toBeUndefined();
    expect(decodeNameCursor("")).toBeUndefined();
    expect(decodeTimeCursor("")).toBeUndefined();
  });

  it("refuse tokens this API did not make, naming the field", () => {
    for (const token of [
      "not a token",
      "abc+/=",
      b64("no version here"),
      b64("2:a later version"),
      b64(":"),
      "A",
    ]) {
      expect(
        badFields(() => decodePageToken(token)),
        token,
      ).toEqual(["page_token"]);
    }
    expect(badFields(() => decodePageToken("%%", "before_token"))).toEqual(["before_token"]);
  });
});

describe("name cursors (ListPublicRooms)", () => {
  it("round-trip names of any text and ids up to 2^64", () => {
    for (const [name, id] of [
      ["general", 1n],
      ['quotes " and \\ and :', 42n],
      ["日本語 ✓", 18_446_744_073_709_551_615n],
      ["", 0n],
    ] as const) {
      expect(decodeNameCursor(encodeNameCursor(name, id))).toEqual({ name, id });
    }
  });

  it("refuse tampered cursors", () => {
    const forged = [
      encodePageToken("not json"),
      encodePageToken(JSON.stringify(["n", "a"])),
      encodePageToken(JSON.stringify(["x", "a", "1"])),
      encodePageToken(JSON.stringify(["n", 1, "1"])),
      encodePageToken(JSON.stringify(["n", "a", 1])),
      encodePageToken(JSON.stringify(["n", "a", "-1"])),
      encodePageToken(JSON.stringify(["n", "a", "1.5"])),
      encodePageToken(JSON.stringify(["n", "a", "1".repeat(21)])),
      encodePageToken(JSON.stringify({ name: "a", id: "1" })),
      encodeTimeCursor(new Date(0), 1n),
      b64('["n","a","1"]'),
    ];
    for (const token of forged) {
      expect(
        badFields(() => decodeNameCursor(token)),
        token,
      ).toEqual(["page_token"]);
    }
  });
});

describe("time cursors (ListMyRooms, ListMembers)", () => {
  it("round-trip times to the millisecond and ids", () => {
    const time = new Date("2025-03-04T05:06:07.089Z");
    expect(decodeTimeCursor(encodeTimeCursor(time, 77n))).toEqual({ time, id: 77n });
    expect(decodeTimeCursor(encodeTimeCursor(new Date(0), 0n))).toEqual({
      time: new Date(0),
      id: 0n,
    });
  });

  it("refuse tampered cursors", () => {
    const forged = [
      encodePageToken("t:abc:1"),
      encodePageToken("t:1:"),
      encodePageToken("t:-5:1"),
      encodePageToken("t:1:2:3"),
      encodePageToken(`t:${"9".repeat(16)}:1`),
      encodePageToken(` t:1:2`),
      encodeNameCursor("a", 1n),
    ];
    for (const token of forged) {
      expect(
        badFields(() => decodeTimeCursor(token)),
        token,
      ).toEqual(["page_token"]);
    }
  });
});

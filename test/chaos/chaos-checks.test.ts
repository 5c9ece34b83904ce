/**
 * The bookkeeping the chaos suite judges the server by (bench/chaos/):
 * what a subscriber's room view counts as a duplicate, an event ahead of
 * the one owed, a late one, and how a failed call is classified. Pure
 * unit tests: if these could not fail, neither could the chaos run.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { classifyFailure, isBadServerCode, retryDelayMs } from "../../bench/chaos/call-errors.js";
import { fingerprint, idFingerprint, RoomView, Source } from "../../bench/chaos/room-view.js";
import { textTime } from "../../bench/chaos/subscriber.js";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

const event = (seq: bigint, text = `m${seq}`) =>
  create(RoomEventSchema, {
    roomId: 7n,
    seq,
    change: {
      case: "messageCreated",
      value: { message: { id: 100n + seq, roomId: 7n, seq, text } },
    },
  });

describe("RoomView", () => {
  it("takes events in order from its start and remembers their bytes", () => {
    const v = new RoomView(7n, 10n);
    expect(v.onStream(event(11n))).toBe("next");
    expect(v.onStream(event(12n))).toBe("next");
    expect(v.next).toBe(13n);
    const e = v.entry(12n);
    expect(e).toEqual({
      hits: 1,
      source: Source.stream,
      print: fingerprint(toBinary(RoomEventSchema, event(12n))),
    });
    expect(v.entry(13n).hits).toBe(0);
  });

  it("counts an event again as a duplicate, one at or before its start too", () => {
    const v = new RoomView(7n, 10n);
    v.onStream(event(11n));
    expect(v.onStream(event(11n))).toBe("duplicate");
    expect(v.onStream(event(10n))).toBe("before-start");
    expect(v.entry(11n).hits).toBe(2);
  });

  it("tells an event ahead of the one owed, and the owed one arriving late", () => {
    const v = new RoomView(7n, 0n);
    v.onStream(event(1n));
    expect(v.onStream(event(3n))).toBe("ahead");
    expect(v.next).toBe(4n);
    expect(v.onStream(event(2n))).toBe("late");
    expect(v.onStream(event(3n))).toBe("duplicate");
  });

  it("keeps reloaded messages by id, and refuses the same sequence twice", () => {
    const v = new RoomView(7n, 0n);
    expect(v.onReload(1n, 555n)).toBe(true);
    expect(v.onReload(1n, 555n)).toBe(false);
    expect(v.entry(1n)).toEqual({ hits: 2, source: Source.reload, print: idFingerprint(555n) });
  });

  it("grows past its first arrays", () => {
    const v = new RoomView(7n, 0n);
    for (let s = 1n; s <= 1000n; s++) expect(v.onStream(event(s))).toBe("next");
    expect(v.size).toBe(1000);
    expect(v.entry(1000n).hits).toBe(1);
  });

  it("sees a different event at the same sequence as a different fingerprint", () => {
    const a = fingerprint(toBinary(RoomEventSchema, event(5n, "one")));
    const b = fingerprint(toBinary(RoomEventSchema, event(5n, "two")));
    expect(a).not.toBe(b);
  });
});

describe("textTime", () => {
  it("reads the send time a chaos sender puts first", () => {
    expect(textTime("t=1700000000123 s1-5")).toBe(1700000000123);
    expect(textTime("hello")).toBeUndefined();
  });
});

describe("classifyFailure", () => {
  it("tells a server's answer from a broken connection", () => {
    const fromServer = new ConnectError("db down", Code.Internal, {
      "content-type": "application/grpc",
    });
    expect(classifyFailure(fromServer)).toMatchObject({ code: "Internal", fromServer: true });
    expect(isBadServerCode(classifyFailure(fromServer))).toBe(true);

    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const broken = new ConnectError("socket hang up", Code.Internal, undefined, undefined, reset);
    expect(classifyFailure(broken)).toMatchObject({ code: "Internal", fromServer: false });
    expect(isBadServerCode(classifyFailure(broken))).toBe(false);

    const unavailable = new ConnectError("try again", Code.Unavailable, { "grpc-status": "14" });
    expect(isBadServerCode(classifyFailure(unavailable))).toBe(false);
  });

  it("reads RetryInfo and honours it over the backoff", () => {
    const err = new ConnectError("busy", Code.Unavailable, { "grpc-status": "14" }, [
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: 1n, nanos: 500_000_000 } } },
    ]);
    const f = classifyFailure(err);
    expect(f.retryAfterMs).toBe(1500);
    expect(retryDelayMs(0, f, () => 0)).toBe(1500);
    expect(retryDelayMs(0, f, () => 0.999)).toBeLessThan(1800);
  });

  it("backs off exponentially with full jitter, capped", () => {
    expect(retryDelayMs(0, undefined, () => 0.999)).toBeLessThan(100);
    expect(retryDelayMs(3, undefined, () => 0.999)).toBeGreaterThan(790);
    expect(retryDelayMs(30, undefined, () => 0.999)).toBeLessThan(2000);
    expect(retryDelayMs(30, undefined, () => 0)).toBe(0);
  });
});

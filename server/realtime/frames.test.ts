/**
 * Unit tests of feed frames (frames.ts): each frame is encoded once per
 * codec and its bytes are shared by every subscriber, enveloped as the
 * three protocols frame data messages and as one HTTP/1.1 chunk.
 */
import { create, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { SubscribeResponseSchema } from "../../gen/chat/v1/feed_pb.js";
import { frame, heartbeatFrame, roomFrame } from "./frames.js";

/** Flags and payload of one enveloped message, checking its length prefix. */
function unwrap(bytes: Uint8Array): { flags: number; payload: Uint8Array } {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(bytes.byteLength).toBe(5 + view.readUInt32BE(1));
  return { flags: bytes[0] ?? -1, payload: bytes.subarray(5) };
}

const eventBytes = toBinary(
  RoomEventSchema,
  create(RoomEventSchema, {
    roomId: 3n,
    seq: 12n,
    change: { case: "messageDeleted", value: { messageId: 99n } },
  }),
);

describe("Frame", () => {
  it("envelopes the message as a data message (flags 0), proto or JSON", () => {
    const f = frame({ case: "roomRemoved", value: { roomId: 5n } });
    const proto = unwrap(f.enveloped("proto"));
    expect(proto.flags).toBe(0);
    expect(fromBinary(SubscribeResponseSchema, proto.payload)).toEqual(f.message);
    const json = unwrap(f.enveloped("json"));
    expect(json.flags).toBe(0);
    const text = Buffer.from(json.payload).toString("utf8");
    expect(fromJsonString(SubscribeResponseSchema, text)).toEqual(f.message);
  });

  it("encodes once per codec: every subscriber gets the same bytes", () => {
    const f = frame({ case: "roomRemoved", value: { roomId: 5n } });
    const proto = f.enveloped("proto");
    const json = f.enveloped("json");
    // Changing the message now changes nothing: the bytes exist already.
    f.message.event = undefined;
    expect(f.enveloped("proto")).toBe(proto);
    expect(f.enveloped("json")).toBe(json);
    expect(fromBinary(SubscribeResponseSchema, unwrap(proto).payload).event?.event.case).toBe(
      "roomRemoved",
    );
  });

  it("writes one HTTP/1.1 chunk around the enveloped bytes, built once", () => {
    const f = roomFrame(eventBytes).frame;
    for (const codec of ["proto", "json"] as const) {
      const enveloped = f.enveloped(codec);
      const chunk = f.chunked(codec);
      const head = `${enveloped.byteLength.toString(16)}\r\n`;
      expect(Buffer.from(chunk.subarray(0, head.length)).toString("latin1")).toBe(head);
      expect(Buffer.from(chunk.subarray(head.length, -2))).toEqual(Buffer.from(enveloped));
      expect(Buffer.from(chunk.subarray(-2)).toString("latin1")).toBe("\r\n");
      expect(f.chunked(codec)).toBe(chunk);
    }
    expect(f.chunked("proto")).not.toEqual(f.chunked("json"));
  });
});

describe("roomFrame", () => {
  it("decodes stored event bytes into a frame carrying the event, ordered by its seq", () => {
    const rf = roomFrame(eventBytes);
    expect(rf.seq).toBe(12n);
    expect(rf.event.roomId).toBe(3n);
    const ev = rf.frame.message.event?.event;
    expect(ev?.case).toBe("roomEvent");
    expect(ev?.case === "roomEvent" && toBinary(RoomEventSchema, ev.value)).toEqual(eventBytes);
  });
});

describe("heartbeatFrame", () => {
  it("is a new frame each time, with the server's clock", () => {
    const a = heartbeatFrame();
    const b = heartbeatFrame();
    expect(a).not.toBe(b);
    const ev = a.message.event?.event;
    expect(ev?.case).toBe("heartbeat");
    const seconds = ev?.case === "heartbeat" ? Number(ev.value.serverTime?.seconds) : 0;
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(5);
  });
});

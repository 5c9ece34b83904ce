/**
 * Feed messages built once and shared: every subscriber of a room gets the
 * same Frame for an event, so the decode, the object graph and the wire
 * bytes exist once per room, not once per subscriber.
 */
import {
  create,
  fromBinary,
  type MessageInitShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import type { FeedEventSchema, SubscribeResponse } from "../../gen/chat/v1/feed_pb.js";
import { SubscribeResponseSchema } from "../../gen/chat/v1/feed_pb.js";
import { encodeEnvelope } from "../platform/connect-protocol.js";

/** Payload encodings of the wire protocols (Connect, gRPC, gRPC-Web). */
export type Codec = "proto" | "json";

/**
 * One feed message and, once asked for, its enveloped wire bytes per codec.
 * The envelope (flags 0, big-endian length, payload) is the same for data
 * messages of Connect streaming, gRPC and gRPC-Web, so a frame encoded for
 * one subscriber is written as is to every other subscriber of its codec.
 */
export class Frame {
  private proto: Uint8Array | undefined;
  private json: Uint8Array | undefined;
  private protoChunk: Uint8Array | undefined;
  private jsonChunk: Uint8Array | undefined;

  constructor(readonly message: SubscribeResponse) {}

  /**
   * The enveloped message as one HTTP/1.1 chunk (`size CRLF data CRLF`):
   * the whole write of one frame to one HTTP/1.1 subscriber, shared by all.
   */
  chunked(codec: Codec): Uint8Array {
    if (codec === "proto") {
      this.protoChunk ??= chunk(this.enveloped("proto"));
      return this.protoChunk;
    }
    this.jsonChunk ??= chunk(this.enveloped("json"));
    return this.jsonChunk;
  }

  /** The enveloped message in `codec`, encoded on first use. */
  enveloped(codec: Codec): Uint8Array {
    if (codec === "proto") {
      this.proto ??= encodeEnvelope(0, toBinary(SubscribeResponseSchema, this.message));
      return this.proto;
    }
    this.json ??= encodeEnvelope(
      0,
      Buffer.from(toJsonString(SubscribeResponseSchema, this.message)),
    );
    return this.json;
  }
}

/** Frames `data` as one chunk of an HTTP/1.1 chunked body. */
function chunk(data: Uint8Array): Uint8Array {
  const head = `${data.byteLength.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(head.length + data.byteLength + 2);
  out.write(head, 0, "latin1");
  out.set(data, head.length);
  out.write("\r\n", head.length + data.byteLength, "latin1");
  return out;
}

/** Wraps one feed event. */
export function frame(event: MessageInitShape<typeof FeedEventSchema>["event"]): Frame {
  return new Frame(create(SubscribeResponseSchema, { event: { event } }));
}

/** A room event as a frame, plus its sequence for ordering. */
export interface RoomFrame {
  seq: bigint;
  event: RoomEvent;
  frame: Frame;
  /** An operator's priority event: also sent ahead of queued frames as `priority_event`. */
  priority?: Frame;
}

/** Decodes stored/published RoomEvent bytes into a shared frame. */
export function roomFrame(bytes: Uint8Array): RoomFrame {
  const event = fromBinary(RoomEventSchema, bytes);
  const rf: RoomFrame = {
    seq: event.seq,
    event,
    frame: frame({ case: "roomEvent", value: event }),
  };
  if (event.priority) rf.priority = frame({ case: "priorityEvent", value: event });
  return rf;
}

/** A heartbeat frame (fresh per tick: it carries the clock). */
export function heartbeatFrame(): Frame {
  return frame({ case: "heartbeat", value: { serverTime: timestampNow() } });
}

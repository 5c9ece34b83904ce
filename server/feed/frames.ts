/**
 * Feed messages built once and shared: every subscriber of a room yields the
 * same SubscribeResponse object for an event, so the decode and the object
 * graph exist once per room, not once per subscriber.
 */
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type BusMessage, BusMessageSchema } from "../../gen/chat/internal/v1/bus_pb.js";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import type { FeedEventSchema, SubscribeResponse } from "../../gen/chat/v1/feed_pb.js";
import { SubscribeResponseSchema } from "../../gen/chat/v1/feed_pb.js";

/** A feed message ready to yield. */
export type Frame = SubscribeResponse;

/** Wraps one feed event. */
export function frame(event: MessageInitShape<typeof FeedEventSchema>["event"]): Frame {
  return create(SubscribeResponseSchema, { event: { event } });
}

/** A room event as a frame, plus its sequence for ordering. */
export interface RoomFrame {
  seq: bigint;
  event: RoomEvent;
  frame: Frame;
}

/** Decodes stored/published RoomEvent bytes into a shared frame. */
export function roomFrame(bytes: Uint8Array): RoomFrame {
  const event = fromBinary(RoomEventSchema, bytes);
  return { seq: event.seq, event, frame: frame({ case: "roomEvent", value: event }) };
}

/** A heartbeat frame (fresh each time: it carries the clock). */
export function heartbeatFrame(): Frame {
  return frame({ case: "heartbeat", value: { serverTime: timestampNow() } });
}

/** Encodes a bus message. */
export function encodeBus(
  payload: MessageInitShape<typeof BusMessageSchema>["payload"],
): Uint8Array {
  return toBinary(BusMessageSchema, create(BusMessageSchema, { payload }));
}

/** Decodes a bus message. */
export function decodeBus(bytes: Uint8Array): BusMessage {
  return fromBinary(BusMessageSchema, bytes);
}

/** Channel names on the bus. */
export const channels = {
  room: (roomId: bigint) => `room:${roomId}`,
  user: (userId: bigint) => `user:${userId}`,
};

/**
 * What instances say to each other on the bus: chat.internal.v1.BusMessage
 * (proto/chat/internal/v1/bus.proto), and the channel names. On Redis the
 * broker adds its own header (broker.ts).
 */
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type BusMessage, BusMessageSchema } from "../../../gen/chat/internal/v1/bus_pb.js";

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

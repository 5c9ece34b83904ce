/**
 * What instances say to each other on the bus: chat.internal.v1.BusMessage
 * (proto/chat/internal/v1/bus.proto), and the channel names. On Redis the
 * broker adds its own header (broker.ts).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BusMessageSchema } from "../../../gen/chat/internal/v1/bus_pb.js";
/** Encodes a bus message. */
export function encodeBus(payload) {
    return toBinary(BusMessageSchema, create(BusMessageSchema, { payload }));
}
/** Decodes a bus message. */
export function decodeBus(bytes) {
    return fromBinary(BusMessageSchema, bytes);
}
/** Channel names on the bus. */
export const channels = {
    room: (roomId) => `room:${roomId}`,
    user: (userId) => `user:${userId}`,
};
//# sourceMappingURL=bus-format.js.map
/**
 * Feed messages built once and shared: every subscriber of a room gets the
 * same Frame for an event, so the decode, the object graph and the wire
 * bytes exist once per room, not once per subscriber.
 */
import { create, fromBinary, toBinary, toJsonString, } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { SubscribeResponseSchema } from "../../gen/chat/v1/feed_pb.js";
import { encodeEnvelope } from "../platform/connect-protocol.js";
/**
 * One feed message and, once asked for, its enveloped wire bytes per codec.
 * The envelope (flags 0, big-endian length, payload) is the same for data
 * messages of Connect streaming, gRPC and gRPC-Web, so a frame encoded for
 * one subscriber is written as is to every other subscriber of its codec.
 */
export class Frame {
    message;
    proto;
    json;
    protoChunk;
    jsonChunk;
    constructor(message) {
        this.message = message;
    }
    /**
     * The enveloped message as one HTTP/1.1 chunk (`size CRLF data CRLF`):
     * the whole write of one frame to one HTTP/1.1 subscriber, shared by all.
     */
    chunked(codec) {
        if (codec === "proto") {
            this.protoChunk ??= chunk(this.enveloped("proto"));
            return this.protoChunk;
        }
        this.jsonChunk ??= chunk(this.enveloped("json"));
        return this.jsonChunk;
    }
    /** The enveloped message in `codec`, encoded on first use. */
    enveloped(codec) {
        if (codec === "proto") {
            this.proto ??= encodeEnvelope(0, toBinary(SubscribeResponseSchema, this.message));
            return this.proto;
        }
        this.json ??= encodeEnvelope(0, Buffer.from(toJsonString(SubscribeResponseSchema, this.message)));
        return this.json;
    }
}
/** Frames `data` as one chunk of an HTTP/1.1 chunked body. */
function chunk(data) {
    const head = `${data.byteLength.toString(16)}\r\n`;
    const out = Buffer.allocUnsafe(head.length + data.byteLength + 2);
    out.write(head, 0, "latin1");
    out.set(data, head.length);
    out.write("\r\n", head.length + data.byteLength, "latin1");
    return out;
}
/** Wraps one feed event. */
export function frame(event) {
    return new Frame(create(SubscribeResponseSchema, { event: { event } }));
}
/** Decodes stored/published RoomEvent bytes into a shared frame. */
export function roomFrame(bytes) {
    const event = fromBinary(RoomEventSchema, bytes);
    return { seq: event.seq, event, frame: frame({ case: "roomEvent", value: event }) };
}
/** A heartbeat frame (fresh per tick: it carries the clock). */
export function heartbeatFrame() {
    return frame({ case: "heartbeat", value: { serverTime: timestampNow() } });
}
//# sourceMappingURL=frames.js.map
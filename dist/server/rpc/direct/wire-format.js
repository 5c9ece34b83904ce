import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SubscribeRequestSchema } from "../../../gen/chat/v1/feed_pb.js";
import { encodeEnvelope, endStreamFlag, endStreamToJson, setTrailerStatus, trailerFlag, trailerSerialize, } from "../../platform/connect-protocol.js";
const contentTypes = /^application\/(connect|grpc-web|grpc)(?:\+(proto|json))?\s*(?:;.*)?$/i;
function header(headers, name) {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
}
function identity(encoding) {
    return encoding === undefined || encoding === "" || encoding === "identity";
}
/**
 * The wire of a Subscribe request, or undefined when connect-node should
 * take it: compressed requests, deadlines, unknown content types, text
 * encodings, gRPC without HTTP/2, and plain Connect unary-style requests.
 */
export function detectWire(headers, httpVersionMajor) {
    const m = contentTypes.exec(header(headers, "content-type") ?? "");
    if (!m)
        return undefined;
    const family = (m[1] ?? "").toLowerCase();
    const sub = (m[2] ?? "").toLowerCase();
    if (family === "connect") {
        // application/connect+proto|json only: bare application/connect is not a stream.
        if (sub === "")
            return undefined;
        if (!identity(header(headers, "connect-content-encoding")))
            return undefined;
        if (header(headers, "connect-timeout-ms") !== undefined)
            return undefined;
        const version = header(headers, "connect-protocol-version");
        if (version !== undefined && version !== "1")
            return undefined;
    }
    else {
        if (family === "grpc" && httpVersionMajor !== 2)
            return undefined;
        if (!identity(header(headers, "grpc-encoding")))
            return undefined;
        if (header(headers, "grpc-timeout") !== undefined)
            return undefined;
    }
    const codec = sub === "json" ? "json" : "proto";
    return {
        protocol: family,
        codec,
        contentType: `application/${family}+${codec}`,
    };
}
/** Unwraps the single enveloped request message. */
export function decodeRequest(body, codec) {
    const bad = (why) => new ConnectError(`invalid request: ${why}`, Code.InvalidArgument);
    if (body.byteLength < 5)
        throw bad("expected one enveloped message");
    const flags = body[0] ?? 0;
    const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
    if (flags !== 0)
        throw bad(`unexpected envelope flags ${flags}`);
    if (length !== body.byteLength - 5)
        throw bad("expected exactly one message");
    const payload = body.subarray(5);
    try {
        return codec === "proto"
            ? fromBinary(SubscribeRequestSchema, payload)
            : fromJsonString(SubscribeRequestSchema, Buffer.from(payload).toString("utf8"));
    }
    catch (err) {
        throw bad(`cannot decode chat.v1.SubscribeRequest: ${err instanceof Error ? err.message : err}`);
    }
}
/** Headers of a stream that starts normally. */
export function responseHeaders(wire) {
    return { "content-type": wire.contentType };
}
function trailerObject(err) {
    const t = setTrailerStatus(new Headers(), err);
    if (!err)
        t.set("grpc-status", "0");
    return Object.fromEntries(t.entries());
}
/** The end of a stream that already sent its headers. */
export function streamEnd(wire, err) {
    switch (wire.protocol) {
        case "connect": {
            const json = endStreamToJson(new Headers(), err, undefined);
            return { body: encodeEnvelope(endStreamFlag, Buffer.from(JSON.stringify(json))) };
        }
        case "grpc-web":
            return {
                body: encodeEnvelope(trailerFlag, trailerSerialize(new Headers(trailerObject(err)))),
            };
        case "grpc":
            return { trailers: trailerObject(err) };
    }
}
/**
 * A whole response for a call that fails before its stream starts. Connect
 * streams always answer 200 with the error in the end message; gRPC sends
 * a trailers-only response (the status in the headers).
 */
export function errorResponse(wire, err) {
    const headers = responseHeaders(wire);
    if (wire.protocol === "grpc")
        return { headers: { ...headers, ...trailerObject(err) } };
    const end = streamEnd(wire, err);
    return end.body ? { headers, body: end.body } : { headers };
}
//# sourceMappingURL=wire-format.js.map
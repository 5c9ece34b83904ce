/**
 * The three wire formats of a server-streaming call, as far as the direct
 * Subscribe path needs them: which requests it may take, how the request
 * message is unwrapped, and how a stream ends. Everything it does not
 * handle (compression, timeouts, gRPC-Web text, gRPC over HTTP/1.1) is left
 * to connect-node, which serves the same procedure in full.
 *
 * The end-of-stream encodings come from @connectrpc/connect's protocol
 * modules (pinned to one exact version in package.json), so errors look
 * exactly like those of every other RPC.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type SubscribeRequest, SubscribeRequestSchema } from "../../../gen/chat/v1/feed_pb.js";
import {
  encodeEnvelope,
  endStreamFlag,
  endStreamToJson,
  setTrailerStatus,
  trailerFlag,
  trailerSerialize,
} from "../../platform/connect-protocol.js";
import type { Codec } from "../../realtime/frames.js";

/** A request the direct path can serve, and how to answer it. */
export interface Wire {
  protocol: "connect" | "grpc" | "grpc-web";
  codec: Codec;
  /** Response content type (same protocol and codec as the request). */
  contentType: string;
}

const contentTypes = /^application\/(connect|grpc-web|grpc)(?:\+(proto|json))?\s*(?:;.*)?$/i;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function identity(encoding: string | undefined): boolean {
  return encoding === undefined || encoding === "" || encoding === "identity";
}

/**
 * The wire of a Subscribe request, or undefined when connect-node should
 * take it: compressed requests, deadlines, unknown content types, text
 * encodings, gRPC without HTTP/2, and plain Connect unary-style requests.
 */
export function detectWire(
  headers: IncomingHttpHeaders,
  httpVersionMajor: number,
): Wire | undefined {
  const m = contentTypes.exec(header(headers, "content-type") ?? "");
  if (!m) return undefined;
  const family = (m[1] ?? "").toLowerCase();
  const sub = (m[2] ?? "").toLowerCase();
  if (family === "connect") {
    // application/connect+proto|json only: bare application/connect is not a stream.
    if (sub === "") return undefined;
    if (!identity(header(headers, "connect-content-encoding"))) return undefined;
    if (header(headers, "connect-timeout-ms") !== undefined) return undefined;
    const version = header(headers, "connect-protocol-version");
    if (version !== undefined && version !== "1") return undefined;
  } else {
    if (family === "grpc" && httpVersionMajor !== 2) return undefined;
    if (!identity(header(headers, "grpc-encoding"))) return undefined;
    if (header(headers, "grpc-timeout") !== undefined) return undefined;
  }
  const codec: Codec = sub === "json" ? "json" : "proto";
  return {
    protocol: family as Wire["protocol"],
    codec,
    contentType: `application/${family}+${codec}`,
  };
}

/** Unwraps the single enveloped request message. */
export function decodeRequest(body: Uint8Array, codec: Codec): SubscribeRequest {
  const bad = (why: string) => new ConnectError(`invalid request: ${why}`, Code.InvalidArgument);
  if (body.byteLength < 5) throw bad("expected one enveloped message");
  const flags = body[0] ?? 0;
  const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
  if (flags !== 0) throw bad(`unexpected envelope flags ${flags}`);
  if (length !== body.byteLength - 5) throw bad("expected exactly one message");
  const payload = body.subarray(5);
  try {
    return codec === "proto"
      ? fromBinary(SubscribeRequestSchema, payload)
      : fromJsonString(SubscribeRequestSchema, Buffer.from(payload).toString("utf8"));
  } catch (err) {
    throw bad(
      `cannot decode chat.v1.SubscribeRequest: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/** Headers of a stream that starts normally. */
export function responseHeaders(wire: Wire): OutgoingHttpHeaders {
  return { "content-type": wire.contentType };
}

function trailerObject(err: ConnectError | undefined): Record<string, string> {
  const t = setTrailerStatus(new Headers(), err);
  if (!err) t.set("grpc-status", "0");
  return Object.fromEntries(t.entries());
}

/** How a stream ends: bytes to write last, and HTTP trailers (gRPC). */
export interface StreamEnd {
  body?: Uint8Array;
  trailers?: Record<string, string>;
}

/** The end of a stream that already sent its headers. */
export function streamEnd(wire: Wire, err: ConnectError | undefined): StreamEnd {
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
export function errorResponse(
  wire: Wire,
  err: ConnectError,
): { headers: OutgoingHttpHeaders; body?: Uint8Array } {
  const headers = responseHeaders(wire);
  if (wire.protocol === "grpc") return { headers: { ...headers, ...trailerObject(err) } };
  const end = streamEnd(wire, err);
  return end.body ? { headers, body: end.body } : { headers };
}

/**
 * Answers for calls refused before connect-node takes them (no token, too
 * many open streams, a body too large): which protocol a request speaks, the
 * way connect-node decides it, and the error in that protocol's own shape,
 * byte for byte what connect-node sends when an interceptor throws:
 * - Connect unary: HTTP status from the code (401, 429, ...) and the JSON
 *   error body;
 * - Connect streaming: 200 and an end-stream message carrying the error;
 * - gRPC: a trailers-only response (status in the one HEADERS frame);
 * - gRPC-Web: 200 and a trailer frame.
 * The encodings come from @connectrpc/connect's protocol modules (pinned to
 * one exact version in package.json).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import { requestBodyReceived } from "./one-port-listener.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** The protocol shape of one call. */
export interface CallWire {
  protocol: "connect" | "grpc" | "grpc-web";
  /** Connect only: the streaming shape (enveloped, end-stream message). */
  stream: boolean;
  /** Protobuf binary (else JSON). */
  binary: boolean;
}

function header(req: Req, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? "";
}

/**
 * The wire of a call to `method`, or undefined where connect-node would
 * answer without running interceptors (and without reading the body):
 * 415 for an unknown content type or gRPC-Web text, 405 for a wrong HTTP
 * method, 505 for a bidirectional call over HTTP/1.1.
 */
export function classifyCall(req: Req, method: DescMethod): CallWire | undefined {
  const kind = method.methodKind;
  if (kind === "bidi_streaming" && req.httpVersionMajor === 1) return undefined;
  if (req.method === "GET") {
    if (kind !== "unary" || method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      return undefined;
    }
    const encoding = new URL(req.url ?? "/", "http://x").searchParams.get("encoding");
    if (encoding !== "proto" && encoding !== "json") return undefined;
    return { protocol: "connect", stream: false, binary: encoding === "proto" };
  }
  if (req.method !== "POST") return undefined;
  const contentType = header(req, "content-type");
  const g = grpc.parseContentType(contentType);
  if (g) return { protocol: "grpc", stream: true, binary: g.binary };
  const w = grpcWeb.parseContentType(contentType);
  if (w) return w.text ? undefined : { protocol: "grpc-web", stream: true, binary: w.binary };
  const c = connect.parseContentType(contentType);
  if (!c || c.stream !== (kind !== "unary")) return undefined;
  return { protocol: "connect", stream: c.stream, binary: c.binary };
}

/** The gRPC status of `err` as header fields. */
function grpcStatus(err: ConnectError): Record<string, string> {
  return Object.fromEntries(grpc.setTrailerStatus(new Headers(), err).entries());
}

/** Status, headers and body of the refusal of a call. */
export function refusalResponse(
  wire: CallWire,
  err: ConnectError,
): { status: number; headers: OutgoingHttpHeaders; body?: Uint8Array } {
  switch (wire.protocol) {
    case "connect": {
      if (!wire.stream) {
        const body = connect.errorToJsonBytes(err, {});
        const headers: OutgoingHttpHeaders = Object.fromEntries(err.metadata.entries());
        headers["content-type"] = connect.contentTypeUnaryJson;
        headers["content-length"] = body.byteLength;
        return { status: connect.codeToHttpStatus(err.code), headers, body };
      }
      const json = connect.endStreamToJson(new Headers(), err, undefined);
      return {
        status: 200,
        headers: {
          "content-type": wire.binary
            ? connect.contentTypeStreamProto
            : connect.contentTypeStreamJson,
        },
        body: encodeEnvelope(connect.endStreamFlag, Buffer.from(JSON.stringify(json))),
      };
    }
    case "grpc":
      return {
        status: 200,
        headers: {
          "content-type": wire.binary ? grpc.contentTypeProto : grpc.contentTypeJson,
          ...grpcStatus(err),
        },
      };
    case "grpc-web":
      return {
        status: 200,
        headers: {
          "content-type": wire.binary ? grpcWeb.contentTypeProto : grpcWeb.contentTypeJson,
        },
        body: encodeEnvelope(
          grpcWeb.trailerFlag,
          grpcWeb.trailerSerialize(new Headers(grpcStatus(err))),
        ),
      };
  }
}

/**
 * Writes the refusal of a call. The request body is never read: an HTTP/1.1
 * connection whose body is still coming is closed after the answer
 * (`Connection: close`), an HTTP/2 stream is reset with NO_ERROR once the
 * answer is out (RFC 9113 §8.1: a complete response before the request).
 */
export function writeRefusal(req: Req, res: Res, wire: CallWire, err: ConnectError): void {
  const { status, headers, body } = refusalResponse(wire, err);
  if ("stream" in res) {
    const stream = res.stream;
    if (stream.destroyed || stream.closed) return;
    const complete = requestBodyReceived(req);
    // One HEADERS frame for gRPC (trailers-only): the compatibility API would add an empty
    // DATA frame, which grpc-js reads as a missing status.
    stream.respond({ ":status": status, ...headers }, { endStream: body === undefined });
    if (body) stream.end(body);
    if (!complete) stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  const r = res as ServerResponse;
  if (!requestBodyReceived(req)) r.shouldKeepAlive = false;
  r.writeHead(status, headers);
  r.end(body);
}

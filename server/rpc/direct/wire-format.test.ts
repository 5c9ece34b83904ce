/**
 * Unit tests of the direct path's wire formats (wire-format.ts): which
 * Subscribe requests it takes, how it unwraps the request, and how streams
 * end per protocol, checked by reading the bytes back with connect's own
 * client-side parsers.
 */
import type { IncomingHttpHeaders } from "node:http";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SubscribeRequestSchema } from "../../../gen/chat/v1/feed_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import {
  connectWire,
  encodeEnvelope,
  grpcWebWire,
  grpcWire,
} from "../../platform/connect-protocol.js";
import { decodeRequest, detectWire, errorResponse, streamEnd, type Wire } from "./wire-format.js";

const connectProto: Wire = {
  protocol: "connect",
  codec: "proto",
  contentType: "application/connect+proto",
};
const grpcProto: Wire = { protocol: "grpc", codec: "proto", contentType: "application/grpc+proto" };
const grpcWebJson: Wire = {
  protocol: "grpc-web",
  codec: "json",
  contentType: "application/grpc-web+json",
};

describe("detectWire", () => {
  const ct = (contentType: string, more: IncomingHttpHeaders = {}) => ({
    "content-type": contentType,
    ...more,
  });

  it("takes the streaming content types of the three protocols, either codec", () => {
    expect(detectWire(ct("application/connect+proto"), 1)).toEqual(connectProto);
    expect(detectWire(ct("application/connect+json; charset=utf-8"), 2)).toEqual({
      protocol: "connect",
      codec: "json",
      contentType: "application/connect+json",
    });
    expect(detectWire(ct("application/grpc"), 2)).toEqual(grpcProto);
    expect(detectWire(ct("Application/GRPC+Proto"), 2)).toEqual(grpcProto);
    expect(detectWire(ct("application/grpc-web+json"), 1)).toEqual(grpcWebJson);
    expect(detectWire(ct("application/grpc-web"), 2)?.contentType).toBe(
      "application/grpc-web+proto",
    );
    expect(
      detectWire(ct("application/connect+proto", { "connect-protocol-version": "1" }), 1),
    ).toEqual(connectProto);
  });

  it("leaves to connect-node what it does not handle", () => {
    const refused: [string, IncomingHttpHeaders, number][] = [
      ["no content type", {}, 2],
      ["unary Connect", ct("application/proto"), 2],
      ["bare application/connect", ct("application/connect"), 2],
      ["gRPC-Web text", ct("application/grpc-web-text"), 1],
      ["gRPC over HTTP/1.1", ct("application/grpc"), 1],
      [
        "compressed Connect",
        ct("application/connect+proto", { "connect-content-encoding": "gzip" }),
        1,
      ],
      ["Connect deadline", ct("application/connect+proto", { "connect-timeout-ms": "500" }), 1],
      [
        "Connect version 2",
        ct("application/connect+proto", { "connect-protocol-version": "2" }),
        1,
      ],
      ["compressed gRPC", ct("application/grpc", { "grpc-encoding": "gzip" }), 2],
      ["gRPC deadline", ct("application/grpc", { "grpc-timeout": "1S" }), 2],
      ["compressed gRPC-Web", ct("application/grpc-web", { "grpc-encoding": "gzip" }), 1],
    ];
    for (const [what, headers, major] of refused) {
      expect(detectWire(headers, major), what).toBeUndefined();
    }
    // Identity is no compression.
    expect(detectWire(ct("application/grpc", { "grpc-encoding": "identity" }), 2)).toEqual(
      grpcProto,
    );
  });
});

describe("decodeRequest", () => {
  const request = create(SubscribeRequestSchema, {
    positions: [{ roomId: 7n, lastSeq: 41n }],
    heartbeatIntervalMs: 2_000,
  });

  it("unwraps one enveloped message, proto or JSON", () => {
    const proto = encodeEnvelope(0, toBinary(SubscribeRequestSchema, request));
    expect(decodeRequest(proto, "proto")).toEqual(request);
    const json = encodeEnvelope(0, Buffer.from(toJsonString(SubscribeRequestSchema, request)));
    expect(decodeRequest(json, "json")).toEqual(request);
  });

  it("reads the envelope where the body sits in a larger buffer", () => {
    const proto = encodeEnvelope(0, toBinary(SubscribeRequestSchema, request));
    const big = new Uint8Array(proto.byteLength + 16);
    big.set(proto, 9);
    expect(decodeRequest(big.subarray(9, 9 + proto.byteLength), "proto")).toEqual(request);
  });

  it("refuses anything but exactly one plain message with InvalidArgument", () => {
    const payload = toBinary(SubscribeRequestSchema, request);
    const one = encodeEnvelope(0, payload);
    const cases: [string, Uint8Array, string][] = [
      ["empty", new Uint8Array(), "expected one enveloped message"],
      ["short", one.subarray(0, 4), "expected one enveloped message"],
      ["compressed flag", encodeEnvelope(1, payload), "unexpected envelope flags 1"],
      ["truncated", one.subarray(0, one.byteLength - 1), "expected exactly one message"],
      ["two messages", Buffer.concat([one, one]), "expected exactly one message"],
      ["not the message", encodeEnvelope(0, Buffer.from("{nope")), "cannot decode"],
    ];
    for (const [what, body, why] of cases) {
      let err: unknown;
      try {
        decodeRequest(body, what === "not the message" ? "json" : "proto");
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(ConnectError);
      expect(Code[(err as ConnectError).code], what).toBe(Code[Code.InvalidArgument]);
      expect((err as ConnectError).rawMessage, what).toContain(why);
    }
  });
});

/** An error with a detail, as the feed ends a stream too slow to keep up. */
const tooSlow = new ConnectError("feed consumer too slow", Code.ResourceExhausted, undefined, [
  { desc: ErrorInfoSchema, value: { reason: "TOO_SLOW", domain: "chat.v1" } },
]);

/** The 5-byte envelope of `body`: its flags and payload. */
function unwrap(body: Uint8Array | undefined): { flags: number; payload: Uint8Array } {
  if (!body) throw new Error("no body");
  const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
  expect(body.byteLength).toBe(5 + length);
  return { flags: body[0] ?? -1, payload: body.subarray(5) };
}

function expectTooSlow(err: ConnectError | undefined): void {
  expect(err).toBeInstanceOf(ConnectError);
  expect(Code[err?.code ?? 0]).toBe(Code[Code.ResourceExhausted]);
  expect(err?.rawMessage).toBe("feed consumer too slow");
  expect(err?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("TOO_SLOW");
}

describe("streamEnd", () => {
  it("Connect: an end-stream message, empty or with the error", () => {
    const ok = unwrap(streamEnd(connectProto, undefined).body);
    expect(ok.flags).toBe(connectWire.endStreamFlag);
    expect(JSON.parse(Buffer.from(ok.payload).toString())).toEqual({});
    const failed = unwrap(streamEnd(connectProto, tooSlow).body);
    expect(failed.flags).toBe(connectWire.endStreamFlag);
    expectTooSlow(connectWire.endStreamFromJson(failed.payload).error);
    expect(streamEnd(connectProto, tooSlow).trailers).toBeUndefined();
  });

  it("gRPC: HTTP trailers with the status, no body", () => {
    expect(streamEnd(grpcProto, undefined)).toEqual({ trailers: { "grpc-status": "0" } });
    const end = streamEnd(grpcProto, tooSlow);
    expect(end.body).toBeUndefined();
    expect(end.trailers?.["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expectTooSlow(grpcWire.findTrailerError(new Headers(end.trailers)));
  });

  it("gRPC-Web: a trailer frame in the body", () => {
    const ok = unwrap(streamEnd(grpcWebJson, undefined).body);
    expect(ok.flags).toBe(grpcWebWire.trailerFlag);
    expect(grpcWebWire.trailerParse(ok.payload).get("grpc-status")).toBe("0");
    const failed = unwrap(streamEnd(grpcWebJson, tooSlow).body);
    expect(failed.flags).toBe(grpcWebWire.trailerFlag);
    expectTooSlow(grpcWire.findTrailerError(grpcWebWire.trailerParse(failed.payload)));
  });
});

describe("errorResponse", () => {
  it("gRPC: trailers-only, the status in the headers", () => {
    const res = errorResponse(grpcProto, tooSlow);
    expect(res.body).toBeUndefined();
    expect(res.headers["content-type"]).toBe("application/grpc+proto");
    const headers = new Headers(res.headers as Record<string, string>);
    expectTooSlow(grpcWire.findTrailerError(headers));
  });

  it("Connect and gRPC-Web: the stream's content type, the error in its end message", () => {
    const connect = errorResponse(connectProto, tooSlow);
    expect(connect.headers).toEqual({ "content-type": "application/connect+proto" });
    expectTooSlow(connectWire.endStreamFromJson(unwrap(connect.body).payload).error);
    const web = errorResponse(grpcWebJson, tooSlow);
    expect(web.headers).toEqual({ "content-type": "application/grpc-web+json" });
    const trailer = grpcWebWire.trailerParse(unwrap(web.body).payload);
    expectTooSlow(grpcWire.findTrailerError(trailer));
  });
});

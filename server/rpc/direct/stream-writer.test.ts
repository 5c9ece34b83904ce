/**
 * Unit tests of the direct writer: frames are encoded once and shared, a
 * turn's frames go out as one write, a backed-up socket gets nothing more
 * until it drains (frames wait in the bounded queue), and an overflow ends
 * the stream with the protocol's end message.
 */
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SubscribeResponseSchema } from "../../../gen/chat/v1/feed_pb.js";
import { type Frame, frame } from "../../realtime/frames.js";
import { FeedSession, type SessionHost } from "../../realtime/session/feed-session.js";
import { StreamWriter } from "./stream-writer.js";
import type { Wire } from "./wire-format.js";

/** A response that records writes and can pretend its socket is full. */
class FakeResponse extends EventEmitter {
  writes: Uint8Array[] = [];
  ended: Uint8Array | undefined;
  trailers: Record<string, string> | undefined;
  full = false;
  write(data: Uint8Array): boolean {
    this.writes.push(data);
    return !this.full;
  }
  end(data?: Uint8Array): void {
    this.ended = data ?? new Uint8Array();
  }
  addTrailers(t: Record<string, string>): void {
    this.trailers = t;
  }
}

const host: SessionHost = {
  readEvents: async () => [],
  attach: async () => 0n,
  detach: () => {},
  loadRoom: async () => undefined,
};

function setup(wire: Wire, queueLimit = 10) {
  const session = new FeedSession(1n, 1n, host, { queueLimit, maxReplay: 100, heartbeatMs: 1000 });
  const res = new FakeResponse();
  const ends: ConnectError[] = [];
  const mask = (e: unknown) =>
    e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal);
  const writer = new StreamWriter(session, res as unknown as ServerResponse, wire, mask, (e) =>
    ends.push(e),
  );
  return { session, res, writer, ends };
}

const connectProto: Wire = {
  protocol: "connect",
  codec: "proto",
  contentType: "application/connect+proto",
};

function typing(n: number): Frame {
  return frame({ case: "typing", value: { roomId: 7n, userId: BigInt(n), typing: true } });
}

/** Splits enveloped bytes into [flags, payload] pairs. */
function envelopes(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const buf = Buffer.from(bytes);
  for (let i = 0; i < buf.length; ) {
    const len = buf.readUInt32BE(i + 1);
    out.push([buf[i] ?? -1, buf.subarray(i + 5, i + 5 + len)]);
    i += 5 + len;
  }
  return out;
}

describe("StreamWriter", () => {
  it("encodes a frame once and writes the same bytes to every stream", () => {
    const a = setup(connectProto);
    const b = setup(connectProto);
    const f = typing(1);
    a.session.push(f);
    b.session.push(f);
    a.writer.flush();
    b.writer.flush();
    expect(a.res.writes).toHaveLength(1);
    expect(b.res.writes[0]).toBe(a.res.writes[0]); // the very same buffer
    expect(f.enveloped("proto")).toBe(a.res.writes[0]);
    const [[flags, payload] = [-1, new Uint8Array()]] = envelopes(a.res.writes[0] as Uint8Array);
    expect(flags).toBe(0);
    expect(fromBinary(SubscribeResponseSchema, payload).event?.event.case).toBe("typing");
    // JSON is a separate encoding, also cached.
    expect(f.enveloped("json")).toBe(f.enveloped("json"));
    expect(JSON.parse(Buffer.from(f.enveloped("json").subarray(5)).toString())).toEqual({
      event: { typing: { roomId: "7", userId: "1", typing: true } },
    });
  });

  it("writes everything queued since the last flush as one chunk, in order", () => {
    const { session, res, writer } = setup(connectProto);
    for (let i = 1; i <= 5; i++) session.push(typing(i));
    writer.flush();
    expect(res.writes).toHaveLength(1);
    const users = envelopes(res.writes[0] as Uint8Array).map(([, p]) => {
      const ev = fromBinary(SubscribeResponseSchema, p).event?.event;
      return ev?.case === "typing" ? ev.value.userId : undefined;
    });
    expect(users).toEqual([1n, 2n, 3n, 4n, 5n]);
  });

  it("holds frames in the queue while the socket is backed up, and resumes on drain", () => {
    const { session, res, writer } = setup(connectProto);
    res.full = true;
    session.push(typing(1));
    writer.flush();
    session.push(typing(2));
    session.push(typing(3));
    writer.flush();
    expect(res.writes).toHaveLength(1); // nothing more until drain
    res.full = false;
    res.emit("drain");
    expect(res.writes).toHaveLength(2);
    expect(envelopes(res.writes[1] as Uint8Array)).toHaveLength(2);
  });

  it("ends a stream whose queue overflowed with ResourceExhausted (Connect end message)", () => {
    const { session, res, writer, ends } = setup(connectProto, 3);
    res.full = true;
    session.push(typing(0));
    writer.flush();
    for (let i = 1; i <= 4; i++) session.push(typing(i)); // the 4th overflows
    writer.flush();
    expect(ends.map((e) => Code[e.code])).toEqual(["ResourceExhausted"]);
    const [[flags, payload] = [-1, new Uint8Array()]] = envelopes(res.ended as Uint8Array);
    expect(flags).toBe(2);
    expect(JSON.parse(Buffer.from(payload).toString()).error.code).toBe("resource_exhausted");
    writer.flush();
    expect(ends).toHaveLength(1);
  });

  it("on HTTP/1.1 writes shared, pre-framed chunks to the socket; end() still closes the body", () => {
    const session = new FeedSession(1n, 1n, host, {
      queueLimit: 10,
      maxReplay: 10,
      heartbeatMs: 1000,
    });
    const socket = new FakeResponse();
    const res = Object.assign(new FakeResponse(), {
      headersSent: true,
      chunkedEncoding: true,
      socket,
    });
    const writer = new StreamWriter(
      session,
      res as unknown as ServerResponse,
      connectProto,
      (e) => (e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal)),
      () => {},
    );
    const f = typing(1);
    session.push(f);
    writer.flush();
    expect(res.writes).toHaveLength(0);
    expect(socket.writes[0]).toBe(f.chunked("proto")); // the same bytes for every subscriber
    const env = f.enveloped("proto");
    expect(Buffer.from(socket.writes[0] as Uint8Array).toString("latin1")).toBe(
      `${env.byteLength.toString(16)}\r\n${Buffer.from(env).toString("latin1")}\r\n`,
    );
    session.push(typing(2));
    session.push(typing(3));
    writer.flush();
    // Two chunks in one write, each framed on its own.
    const second = Buffer.from(socket.writes[1] as Uint8Array);
    expect(second.byteLength).toBe(typing(2).chunked("proto").byteLength * 2);
    session.fail(new ConnectError("bye", Code.Unavailable));
    writer.flush();
    expect(res.ended).toBeDefined(); // the response writes the last chunk and terminator
  });

  it("ends gRPC streams with trailers and gRPC-Web streams with a trailer frame", () => {
    const grpc = setup({ protocol: "grpc", codec: "proto", contentType: "application/grpc+proto" });
    grpc.session.fail(new Error("boom"));
    grpc.writer.flush();
    // Not a ConnectError: masked as Internal, "boom" never reaches the client.
    expect(grpc.res.trailers?.["grpc-status"]).toBe("13");
    expect(grpc.res.trailers?.["grpc-message"]).toBe("internal%20error");
    const web = setup({
      protocol: "grpc-web",
      codec: "proto",
      contentType: "application/grpc-web+proto",
    });
    web.session.fail(new Error("boom"));
    web.writer.flush();
    const [[flags, payload] = [-1, new Uint8Array()]] = envelopes(web.res.ended as Uint8Array);
    expect(flags).toBe(0x80);
    expect(Buffer.from(payload).toString()).toContain("grpc-status: 13");
    expect(Buffer.from(payload).toString()).not.toContain("boom");
  });
});

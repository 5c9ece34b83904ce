/**
 * `--client lean`: FeedService.Subscribe streams without the SDK's call
 * machinery (bench/README.md, "Subscriber client"). connect-node passes
 * every message through about six async-iterable layers (split, decompress, parse, interceptors,
 * the for-await of the caller); at 100k+ messages/s those cost the one
 * load-generator thread more than the server spends sending them, so the
 * benchmark measured its own client. Here each stream is one `node:http`
 * request or `node:http2` stream whose data chunks go straight through an
 * envelope splitter into `fromBinary` and the subscriber's checks, much as
 * the peers' WebSocket clients hand frames to JSON.parse.
 *
 * Kept from a real client: every message is decoded into the generated
 * SubscribeResponse type, and the end of a call is read with
 * @connectrpc/connect's own protocol helpers (response validation, the
 * Connect end-stream message, gRPC trailers), so errors read exactly as
 * the SDK's. Left out: compression (none is offered, so the server sends
 * none), deadlines, interceptors, retries.
 *
 * One implementation, {@link leanSubscribeCalls}, starts the calls and
 * splits their envelopes for every lean stream: the fan-out's subscribers
 * ({@link leanSubscribers}) and the storm, resume and hold streams
 * (feed-calls.ts), which send resume positions in the request.
 *
 * Connections are laid out as for `--client sdk` (client-pool.ts):
 * `connect-h1` one keep-alive agent with one socket per stream,
 * `grpc-h2` one HTTP/2 session per stream, `grpc-h2-multi` one session per
 * `perSession` streams ({@link defaultPerSession} for the fan-out).
 */
import http from "node:http";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type EndStreamResponse,
  endStreamFlag,
  endStreamFromJson,
  validateResponse as validateConnectResponse,
} from "@connectrpc/connect/protocol-connect";
import {
  findTrailerError,
  validateResponse as validateGrpcResponse,
} from "@connectrpc/connect/protocol-grpc";
import {
  FeedService,
  SubscribeRequestSchema,
  SubscribeResponseSchema,
} from "../../gen/chat/v1/feed_pb.js";
import { type ClientProtocol, defaultPerSession } from "./client-pool.js";
import { type DeliverySink, FeedSubscriber, type SubscriberPool } from "./subscriber.js";

const path = `/${FeedService.typeName}/${FeedService.method.subscribe.name}`;

/** What a started call reports to its owner. */
interface CallEvents {
  /** The payload of one data envelope (a SubscribeResponse). */
  message(payload: Uint8Array): void;
  /** The call is over: `err` when it failed, undefined when the server ended it cleanly. */
  end(err: unknown): void;
}

/** Starts one call as the holder of `token` with the enveloped request `body`; returns how to cancel it. */
type StartCall = (token: string, body: Buffer, events: CallEvents) => () => void;

/** A resume position: the last sequence of a room the stream already has. */
export interface Position {
  roomId: bigint;
  lastSeq: bigint;
}

/**
 * The enveloped SubscribeRequest (flags 0: not compressed) with these
 * resume positions; none: live events of every room of the account (what
 * the SDK sends for `{}`).
 */
export function subscribeRequestBody(positions: readonly Position[] = []): Buffer {
  const msg = toBinary(
    SubscribeRequestSchema,
    create(SubscribeRequestSchema, { positions: [...positions] }),
  );
  const body = Buffer.alloc(5 + msg.length);
  body.writeUInt32BE(msg.length, 1);
  body.set(msg, 5);
  return body;
}

/**
 * Lean Subscribe calls over `protocol`, the one implementation behind
 * every `--client lean` stream (the fan-out's subscribers here, the feed
 * scenarios' streams in feed-calls.ts). Connections and sessions are made
 * when the first call of stream `i` starts: `connect-h1` one keep-alive
 * agent with one socket per stream, `grpc-h2` one HTTP/2 session per
 * stream, `grpc-h2-multi` one session per `perSession` streams.
 */
export interface LeanSubscribeCalls {
  /**
   * Runs one Subscribe call of stream `i` until it ends, handing `each`
   * the payload of every data envelope (a SubscribeResponse; a view, valid
   * during the call). Resolves when the server ends the call cleanly or
   * `signal` aborts (the call is then cancelled); rejects with the call's
   * error (a ConnectError, or what `each` threw). `body`: from
   * {@link subscribeRequestBody}.
   */
  run(
    i: number,
    token: string,
    body: Buffer,
    signal: AbortSignal,
    each: (payload: Uint8Array) => void,
  ): Promise<void>;
  /** Connections (HTTP/1.1) or sessions (HTTP/2) created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/** {@link LeanSubscribeCalls} over `protocol`. */
export function leanSubscribeCalls(
  protocol: ClientProtocol,
  baseUrl: string,
  perSession = defaultPerSession,
): LeanSubscribeCalls {
  const agents = new Map<number, http.Agent>();
  const sessions = new Map<number, http2.ClientHttp2Session>();
  const per = protocol === "grpc-h2-multi" ? perSession : 1;
  const url = new URL(path, baseUrl);
  const sessionFor = (i: number) => {
    const g = Math.floor(i / per);
    let s = sessions.get(g);
    if (!s) {
      s = http2.connect(baseUrl);
      // Its streams fail with the error and report it; unhandled, it would kill the process.
      s.on("error", () => {});
      sessions.set(g, s);
    }
    return s;
  };
  const agentFor = (i: number) => {
    let a = agents.get(i);
    if (!a) {
      a = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.set(i, a);
    }
    return a;
  };
  const start: (i: number) => StartCall =
    protocol === "connect-h1"
      ? (i) => connectCall(url, agentFor(i))
      : (i) => grpcCall(() => sessionFor(i));
  return {
    run: (i, token, body, signal, each) =>
      new Promise<void>((resolve, reject) => {
        let over = false;
        let cancel = () => {};
        const end = (err: unknown) => {
          if (over) return;
          over = true;
          signal.removeEventListener("abort", onAbort);
          // Frees the request or stream; nothing happens if it already ended.
          cancel();
          // After our own abort, whatever the call reports is its cancellation.
          if (err === undefined || signal.aborted) resolve();
          else reject(err);
        };
        const onAbort = () => end(undefined);
        if (signal.aborted) {
          resolve();
          return;
        }
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          cancel = start(i)(token, body, {
            message: (payload) => {
              if (!over) each(payload);
            },
            end,
          });
        } catch (err) {
          end(err); // e.g. a session that was already closed
        }
      }),
    connections: () => (protocol === "connect-h1" ? agents.size : sessions.size),
    close() {
      for (const a of agents.values()) a.destroy();
      for (const s of sessions.values()) s.destroy();
    },
  };
}

/**
 * `--client lean` subscribers of the fan-out for `protocol` (live events
 * only); connections and sessions are made when their first subscriber
 * starts.
 */
export function leanSubscribers(protocol: ClientProtocol, baseUrl: string): SubscriberPool {
  const body = subscribeRequestBody();
  const calls = leanSubscribeCalls(protocol, baseUrl);
  return {
    subscriber: (i, roomId, token, sink) =>
      new LeanSubscriber(i, roomId, sink, (signal, each) =>
        calls.run(i, token, body, signal, each),
      ),
    connections: () => calls.connections(),
    close: () => calls.close(),
  };
}

/** A fan-out Subscribe stream over one lean call. */
class LeanSubscriber extends FeedSubscriber {
  constructor(
    index: number,
    roomId: bigint,
    sink: DeliverySink,
    private readonly call: (
      signal: AbortSignal,
      each: (payload: Uint8Array) => void,
    ) => Promise<void>,
  ) {
    super(index, roomId, sink);
  }

  override async run(signal: AbortSignal): Promise<void> {
    try {
      await this.call(signal, (payload) =>
        this.onResponse(fromBinary(SubscribeResponseSchema, payload)),
      );
      // Our own abort is the normal end; as with the SDK, anything else is an error.
      if (!signal.aborted) this.fail("the server ended the stream");
    } catch (err) {
      this.failWith(err);
    }
    this.endBeforeReady();
  }
}

/** Connect streaming over HTTP/1.1 through `agent` (one socket). */
function connectCall(url: URL, agent: http.Agent): StartCall {
  return (token, body, ev) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: {
        "content-type": "application/connect+proto",
        "connect-protocol-version": "1",
        authorization: `Bearer ${token}`,
        "content-length": body.length,
      },
    });
    req.on("error", (err) => ev.end(transportError(err)));
    req.on("response", (res) => {
      const header = headersOf(res.headers);
      const reader = new EnvelopeReader();
      let endStream: EndStreamResponse | undefined;
      try {
        validateConnectResponse("server_streaming", true, res.statusCode ?? 0, header);
      } catch (err) {
        ev.end(err);
        return;
      }
      res.on("data", (chunk: Buffer) => {
        try {
          reader.push(chunk, (flags, payload) => {
            if (endStream) throw protocolError("received extra message after EndStreamResponse");
            if (flags === 0) ev.message(payload);
            else if (flags === endStreamFlag) endStream = endStreamFromJson(payload);
            else throw new ConnectError(`unexpected envelope flags ${flags}`, Code.Internal);
          });
        } catch (err) {
          ev.end(err);
        }
      });
      res.on("end", () => {
        if (reader.partial) ev.end(protocolError("incomplete envelope"));
        else if (!endStream) ev.end(protocolError("missing EndStreamResponse"));
        else ev.end(endStream.error);
      });
      // The connection broke mid-stream (after "end", these change nothing).
      res.on("error", (err) => ev.end(transportError(err)));
      res.on("close", () => ev.end(new ConnectError("connection closed", Code.Unavailable)));
    });
    req.end(body);
    return () => req.destroy();
  };
}

/** gRPC over HTTP/2: one stream on the session `session()` returns. */
function grpcCall(session: () => http2.ClientHttp2Session): StartCall {
  return (token, body, ev) => {
    const stream = session().request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      authorization: `Bearer ${token}`,
    });
    const reader = new EnvelopeReader();
    // A status in the response headers: a trailers-only response (e.g. unauthenticated).
    let statusInHeader = false;
    let trailer: Headers | undefined;
    stream.on("response", (h) => {
      try {
        const v = validateGrpcResponse(Number(h[":status"]), headersOf(h));
        if (v.headerError) throw v.headerError;
        statusInHeader = v.foundStatus;
      } catch (err) {
        ev.end(err);
      }
    });
    stream.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk, (flags, payload) => {
          if (flags !== 0)
            throw new ConnectError(`unexpected envelope flags ${flags}`, Code.Internal);
          ev.message(payload);
        });
      } catch (err) {
        ev.end(err);
      }
    });
    stream.on("trailers", (t) => {
      trailer = headersOf(t);
    });
    stream.on("error", (err) => ev.end(transportError(err)));
    stream.on("close", () => {
      const err = trailer && findTrailerError(trailer);
      if (err) ev.end(err);
      else if (reader.partial) ev.end(protocolError("incomplete envelope"));
      else if (statusInHeader || trailer?.has("grpc-status")) ev.end(undefined);
      else if (stream.rstCode) {
        ev.end(new ConnectError(`http/2 stream closed with code ${stream.rstCode}`, Code.Internal));
      } else ev.end(new ConnectError("protocol error: missing status", Code.Internal));
    });
    stream.end(body);
    return () => stream.close(http2.constants.NGHTTP2_CANCEL);
  };
}

/**
 * Splits a byte stream into envelopes (1 flag byte, 4-byte big-endian
 * length, payload). Chunk boundaries fall anywhere: a chunk may hold
 * several envelopes and end inside one, whose bytes wait for the next.
 */
class EnvelopeReader {
  private rest: Buffer | undefined;

  /** Bytes of an unfinished envelope (nonzero at the end of a stream: it was cut). */
  get partial(): number {
    return this.rest?.length ?? 0;
  }

  /** Calls `each` for every envelope completed by `chunk`; payloads are views, not copies. */
  push(chunk: Buffer, each: (flags: number, payload: Buffer) => void): void {
    // Copies only when an envelope straddles chunks (rare for small messages).
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 5) {
      const end = at + 5 + buf.readUInt32BE(at + 1);
      if (end > buf.length) break;
      const flags = buf[at] ?? 0;
      const payload = buf.subarray(at + 5, end);
      at = end;
      each(flags, payload);
    }
    this.rest = at < buf.length ? buf.subarray(at) : undefined;
  }
}

/** Node's response or trailer headers as the Fetch `Headers` connect's helpers read. */
function headersOf(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue; // pseudo-headers are not header names
    for (const x of Array.isArray(v) ? v : [v]) out.append(k, String(x));
  }
  return out;
}

function protocolError(what: string): ConnectError {
  return new ConnectError(`protocol error: ${what}`, Code.InvalidArgument);
}

/** A socket or stream error, coded as connect-node codes the common ones. */
function transportError(err: unknown): ConnectError {
  const code = (err as { code?: unknown }).code;
  const reset = code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED";
  const unreachable = code === "ECONNREFUSED" || code === "ETIMEDOUT";
  return ConnectError.from(
    err,
    reset ? Code.Aborted : unreachable ? Code.Unavailable : Code.Internal,
  );
}

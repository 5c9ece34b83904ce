/**
 * The direct path of FeedService.Subscribe: the hot path of the server.
 *
 * connect-node serves a stream through an async generator per subscriber,
 * about six async-iterable layers, one protobuf encode per subscriber and
 * one write plus drain wait per message (measured before this path existed:
 * 2.4k-5.3k deliveries/s and 43-48 KB of heap per stream, bench/README.md).
 * Here a Subscribe
 * request in the common shape (Connect streaming, gRPC or gRPC-Web,
 * uncompressed, no deadline) is answered by writing the wire format
 * directly:
 * - each frame is encoded once per room and codec (Frame.enveloped) and the
 *   same bytes go to every subscriber;
 * - frames queued for a stream within one event-loop turn go out as one
 *   write, flushed for all streams from one setImmediate;
 * - a stream whose socket is backed up is not written to until it drains;
 *   its frames wait in the session's bounded queue, which ends it with
 *   ResourceExhausted when full: a slow consumer never stalls the room;
 * - heartbeats come from one process-wide sweep, not a timer per stream.
 * What interceptors do elsewhere happens here by the same functions:
 * authentication (from the headers, before the body is read), validation,
 * error masking, one log line per call.
 * Everything else about Subscribe (limits, resume, presence) is the shared
 * FeedStreams/FeedSession code, so both paths behave the same; tests run
 * the real clients (buf curl, grpc-js, connect-web, connect-node) on it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Socket } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { FeedService, SubscribeRequestSchema } from "../../../gen/chat/v1/feed_pb.js";
import type { TokenService } from "../../domain/auth/tokens.js";
import { allowBody } from "../../platform/http/one-port-listener.js";
import { type Frame, heartbeatFrame } from "../../realtime/frames.js";
import type { FeedStreams } from "../../realtime/session/feed-streams.js";
import { authenticate } from "../interceptors/auth.js";
import type { ErrorMasker } from "../interceptors/errors.js";
import { logRpc } from "../interceptors/logging.js";
import { validateMessage } from "../interceptors/validation.js";
import { readBody } from "./request-body.js";
import { type AnyResponse, abandon, StreamWriter } from "./stream-writer.js";
import {
  decodeRequest,
  detectWire,
  errorResponse,
  responseHeaders,
  type Wire,
} from "./wire-format.js";

const procedure = `${FeedService.typeName}/${FeedService.method.subscribe.name}`;
const path = `/${procedure}`;
/** Streams written per slice at most before yielding to other work. */
const flushBudget = 1_000;
/**
 * Time a slice may take before the rest waits for the next turn: what
 * else is ready (a send's request, its COMMIT, its ack) waits at most
 * this long behind a fan-out, whatever one socket write costs.
 */
const flushSliceMs = 2;
/** Streams written between clock reads within a slice. */
const clockEvery = 32;

type Req = IncomingMessage | Http2ServerRequest;
type Res = AnyResponse;

/** What the direct path needs. */
export interface DirectSubscribeDeps {
  streams: FeedStreams;
  tokens: TokenService;
  logger: Logger;
  /** Largest request body accepted (as connect-node's readMaxBytes). */
  readMaxBytes: number;
  /** What a client sees of a failure (the error interceptor's masker). */
  mask: ErrorMasker;
  /** Throws Unavailable while a dependency is known down (the availability interceptor's check). */
  checkAvailable: () => void;
}

/** Serves Subscribe requests of the common shape; see the file comment. */
export class DirectSubscribe {
  private readonly writers = new Set<StreamWriter>();
  private pending = new Set<StreamWriter>();
  private flushScheduled = false;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly deps: DirectSubscribeDeps) {
    // Streams may ask for their own interval (down to 1 s): sweep often
    // enough for the shortest, at most every 250 ms.
    const every = Math.max(10, Math.min(250, Math.floor(deps.streams.heartbeatMs / 4)));
    this.sweep = setInterval(() => this.heartbeats(), every);
    this.sweep.unref();
  }

  /** Takes the request if it is a Subscribe it serves; false: not for us. */
  handle(req: Req, res: Res): boolean {
    if (req.method !== "POST") return false;
    const url = req.url ?? "";
    if (url !== path && !url.startsWith(`${path}?`)) return false;
    const wire = detectWire(req.headers, req.httpVersionMajor);
    if (!wire) return false;
    this.serve(req, res, wire).catch((err: unknown) => {
      this.deps.logger.error({ err }, "direct Subscribe failed to answer");
      if (!res.headersSent) abandon(res);
    });
    return true;
  }

  /** Stops the heartbeat sweep (streams end through their sessions). */
  close(): void {
    clearInterval(this.sweep);
  }

  /** Open direct streams (for tests and metrics). */
  get size(): number {
    return this.writers.size;
  }

  private async serve(req: Req, res: Res, wire: Wire): Promise<void> {
    const started = performance.now();
    let userId: bigint | undefined;
    let writer: StreamWriter | undefined;
    let release: (() => void) | undefined;
    let corked: Socket | undefined;
    let gone = false;
    const done = (err: unknown) =>
      logRpc(this.deps.logger, {
        procedure,
        protocol: wire.protocol,
        kind: "server_streaming",
        started,
        userId,
        err,
        path: "direct",
      });
    // Write errors after the client went away are not ours to report: the
    // "close" below ends the stream. Without a listener they would throw.
    res.on("error", ignore);
    res.once("close", () => {
      gone = true;
      release?.();
      if (writer) {
        this.writers.delete(writer);
        this.pending.delete(writer);
        if (!writer.ended) done(new ConnectError("client went away", Code.Canceled));
      }
    });
    try {
      this.deps.checkAvailable();
      // The token first: a stranger's body is never read (nor buffered).
      const caller = await authenticate(this.deps.tokens, header(req, "authorization"));
      userId = caller.userId;
      allowBody(req, res);
      const body = await readBody(req, this.deps.readMaxBytes);
      const msg = decodeRequest(body, wire.codec);
      validateMessage(SubscribeRequestSchema, msg);
      const opened = await this.deps.streams.open(caller, wire.protocol);
      release = opened.release;
      if (gone) return opened.release();
      await this.deps.streams.start(opened.session, caller.userId, msg);
      if (gone) return;
      // HTTP/1.1: headers and `ready` leave in one write (a storm of
      // Subscribes spent a third of its CPU in socket writes, two per stream).
      corked = "stream" in res ? undefined : (res.socket ?? undefined);
      corked?.cork();
      res.writeHead(200, responseHeaders(wire));
      // Headers go out now (`ready` follows at once); on HTTP/1.1 this also
      // fixes the body framing the writer relies on.
      if (!("stream" in res)) res.flushHeaders();
      writer = new StreamWriter(
        opened.session,
        res,
        wire,
        (err) => this.deps.mask(err, procedure),
        (err) => {
          if (writer) this.writers.delete(writer);
          opened.release();
          done(err);
        },
      );
      this.writers.add(writer);
      const w = writer;
      opened.session.drainTo(() => this.schedule(w));
      w.flush();
      corked?.uncork();
      corked = undefined;
    } catch (err) {
      corked?.uncork();
      release?.();
      if (gone || req.aborted) {
        // The client left while the call was set up (its body read failed).
        done(new ConnectError("client went away", Code.Canceled));
        return;
      }
      const e = this.deps.mask(err, procedure);
      done(e);
      if (gone || res.headersSent) return;
      const out = errorResponse(wire, e);
      if (!out.body && "stream" in res) {
        // gRPC trailers-only: one HEADERS frame that ends the stream. The
        // compatibility API would add an empty DATA frame, which grpc-js
        // reads as a missing status.
        res.stream.respond({ ":status": 200, ...out.headers }, { endStream: true });
        return;
      }
      // A body still arriving (refused before it was read) is not drained:
      // the HTTP/1.1 connection closes after the answer.
      if (!("stream" in res) && !req.complete) res.shouldKeepAlive = false;
      res.writeHead(200, out.headers);
      if (out.body) (res as ServerResponse).end(out.body);
      else res.end();
    }
  }

  /** Flushes `w` at the end of this event-loop turn, with every other stream. */
  private schedule(w: StreamWriter): void {
    this.pending.add(w);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushPending());
  }

  /**
   * Writes streams for up to {@link flushSliceMs} (at most
   * {@link flushBudget} of them), then lets the event loop run (incoming
   * sends, COMMITs, acks) before the rest: a burst to 10,000 subscribers
   * never blocks the process for its whole length. The slices run from
   * setImmediate, after the loop's I/O callbacks: pending I/O goes first.
   */
  private flushPending(): void {
    this.flushScheduled = false;
    let budget = flushBudget;
    const until = performance.now() + flushSliceMs;
    for (const s of this.pending) {
      this.pending.delete(s);
      s.flush();
      if (--budget === 0) break;
      if (budget % clockEvery === 0 && performance.now() > until) break;
    }
    if (this.pending.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushPending());
    }
  }

  /** Queues one shared heartbeat for every stream idle for a full interval. */
  private heartbeats(): void {
    const now = performance.now();
    let shared: Frame | undefined;
    const heartbeat = () => {
      shared ??= heartbeatFrame();
      return shared;
    };
    for (const w of this.writers) w.heartbeatIfIdle(now, heartbeat);
  }
}

function ignore(): void {}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

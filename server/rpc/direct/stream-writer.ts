/**
 * Writes one feed session to one HTTP response in the wire format of its
 * request: batches of pre-encoded frames while the socket keeps up, nothing
 * while it is backed up, and the protocol's end of stream when the session
 * fails. Kept small on purpose: thousands of these live per process.
 */
import type { ServerResponse } from "node:http";
import { constants, type Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { ConnectError } from "@connectrpc/connect";
import { Frame } from "../../realtime/frames.js";
import type { FeedSession } from "../../realtime/session/feed-session.js";
import { streamEnd, type Wire } from "./wire-format.js";

/** How long a stream that ended with an error may take to send its end. */
const endGraceMs = 10_000;

/** An HTTP/1.1 or HTTP/2 (compatibility API) response. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Abandons a response whose client stopped reading. */
export function abandon(res: AnyResponse): void {
  if ("stream" in res) res.stream.close(constants.NGHTTP2_CANCEL);
  else res.destroy();
}

/**
 * Both response kinds write and end alike; their typings differ only in
 * overloads, so one view is used for the calls.
 */
function out(res: AnyResponse): Pick<ServerResponse, "write" | "end"> {
  return res as ServerResponse;
}

/**
 * HTTP/1.1 with a chunked body (headers already sent): the socket itself,
 * written with frames already framed as chunks (Frame.chunked), one write
 * of shared bytes per delivery. Through ServerResponse.write every delivery
 * would pay for the chunk framing, a cork and an uncork tick, and a writev
 * of four buffers. The response's own end() still writes the last chunk and
 * the terminator.
 */
function chunkedSocket(r: AnyResponse): Socket | undefined {
  if ("stream" in r) return undefined;
  const res = r as ServerResponse & { chunkedEncoding?: boolean };
  return res.headersSent && res.chunkedEncoding === true && res.socket ? res.socket : undefined;
}

/** The direct writer of one stream. */
export class StreamWriter {
  /** `performance.now()` of the last write; heartbeats go to idle streams. */
  lastWrite = performance.now();
  /** Set once the end of stream was written (or the stream was released). */
  ended = false;
  /** The socket is backed up: wait for `drain` before writing more. */
  private blocked = false;

  constructor(
    private readonly session: FeedSession,
    private readonly res: AnyResponse,
    private readonly wire: Wire,
    /** Turns a failure into what the client may see (internals masked). */
    private readonly mask: (err: unknown) => ConnectError,
    /** Called once when the stream ends, with its error. */
    private readonly onEnd: (err: ConnectError) => void,
  ) {
    this.socket = chunkedSocket(res);
  }

  /** Set on HTTP/1.1 with a chunked body (see {@link chunkedSocket}). */
  private readonly socket: Socket | undefined;

  /** Writes what the session has queued, or its end once it failed. */
  flush(): void {
    if (this.ended) return;
    const failed = this.session.failed;
    if (failed) {
      this.end(this.mask(failed.error));
      return;
    }
    if (this.session.ended) {
      // Released (client gone or server closing): nothing more to send.
      this.ended = true;
      return;
    }
    if (this.blocked) return;
    const items = this.session.takeAll();
    if (items.length === 0) return;
    const socket = this.socket;
    const chunks: Uint8Array[] = [];
    for (const item of items) {
      // Subscribe sessions only ever queue frames; Chat responses never reach here.
      if (!(item instanceof Frame)) continue;
      chunks.push(socket ? item.chunked(this.wire.codec) : item.enveloped(this.wire.codec));
    }
    const data = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
    this.lastWrite = performance.now();
    this.session.host.count?.("bytes", data.byteLength);
    const target = socket ?? this.res;
    if (!(socket ? socket.write(data) : out(this.res).write(data))) {
      this.blocked = true;
      target.once("drain", () => {
        this.blocked = false;
        this.flush();
      });
    }
  }

  /** Queues `heartbeat` if nothing was written for the stream's heartbeat interval. */
  heartbeatIfIdle(now: number, heartbeat: () => Frame): void {
    if (!this.ended && !this.blocked && this.lastWrite <= now - this.session.heartbeatMs) {
      this.session.push(heartbeat());
    }
  }

  private end(err: ConnectError): void {
    this.ended = true;
    const end = streamEnd(this.wire, err);
    if (end.trailers) this.res.addTrailers(end.trailers);
    if (this.blocked) {
      // The client stopped reading: give the end a moment, then let go of
      // the connection rather than hold its buffers forever.
      const timer = setTimeout(() => abandon(this.res), endGraceMs);
      timer.unref();
      this.res.once("close", () => clearTimeout(timer));
    }
    if (end.body) out(this.res).end(end.body);
    else out(this.res).end();
    this.onEnd(err);
  }
}

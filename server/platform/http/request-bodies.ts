/**
 * Request bodies as the one-port listener watches them: which requests may
 * still send one, `Expect: 100-continue` answered only once the caller
 * decided to read, streaming calls taken out of the body timeouts, and the
 * answer to a body that stopped arriving.
 */
import type * as http from "node:http";
import * as http2 from "node:http2";

/** Per-request body watch, so a streaming call can take itself out of the body timeouts. */
export const bodyWatches = new WeakMap<object, () => void>();

/**
 * Takes `req` out of the request-body timeouts: for client-streaming and bidirectional calls,
 * whose request side is the client's own stream of messages, sent whenever it has something
 * to say. Without effect on requests the listener does not watch.
 */
export function releaseBodyTimeout(req: http.IncomingMessage | http2.Http2ServerRequest): void {
  bodyWatches.get(req)?.();
  bodyWatches.delete(req);
}

/** Requests that asked `Expect: 100-continue` and were not told to continue yet. */
export const awaitingContinue = new WeakSet<object>();

/**
 * Lets a request's body come: answers `100 Continue` if the client asked
 * for it (`Expect: 100-continue`). The listener does not answer it on its
 * own, so whoever reads the body calls this once it has decided to (after
 * the token was checked); a request refused without it never has its body
 * sent by a client that waits for the 100.
 */
export function allowBody(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  if (!awaitingContinue.delete(req)) return;
  if (!res.headersSent && !res.writableEnded) res.writeContinue();
}

/** True when a request carries no body at all (nothing to wait for). */
export function hasNoBody(req: http.IncomingMessage | http2.Http2ServerRequest): boolean {
  if ("stream" in req) return req.stream.endAfterHeaders;
  const h = req.headers;
  return h["transfer-encoding"] === undefined && (h["content-length"] ?? "0") === "0";
}

/**
 * True once the whole request body has arrived (read or not): HTTP/1.1's `complete`, or the
 * end of an HTTP/2 stream's readable side.
 */
export function requestBodyReceived(req: http.IncomingMessage | http2.Http2ServerRequest): boolean {
  if ("stream" in req) {
    const state = (req.stream as unknown as { _readableState?: { ended?: boolean } })
      ._readableState;
    return req.stream.endAfterHeaders || state?.ended === true || req.stream.destroyed;
  }
  return req.complete;
}

/**
 * Answers a request whose body stopped arriving: 408 when nothing was answered yet, then the
 * HTTP/1.1 connection or the HTTP/2 stream is closed (whoever was reading the body sees it end).
 */
export function bodyTimedOut(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  const text = "request body timed out\n";
  if ("stream" in req) {
    const stream = req.stream;
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      stream.respond(
        {
          ":status": 408,
          "content-type": "text/plain; charset=utf-8",
          "content-length": Buffer.byteLength(text),
        },
        { endStream: false },
      );
      stream.end(text);
      // Graceful: RST_STREAM NO_ERROR once the answer is out; the body is not read.
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
    } else {
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    return;
  }
  const r = res as http.ServerResponse;
  if (r.headersSent || r.writableEnded) {
    req.socket.destroy();
    return;
  }
  r.shouldKeepAlive = false;
  r.writeHead(408, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    connection: "close",
  });
  r.end(text);
  // Whatever is still arriving is not read: close once the answer is written.
  r.once("finish", () => req.socket.destroySoon());
}

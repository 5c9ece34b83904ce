/**
 * Answers of the plain-HTTP file routes: errors as Connect's JSON error
 * body (`{"code","message"}`) with the matching HTTP status, so clients
 * read them like any RPC error.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { securityHeaders } from "../../platform/http/security-headers.js";

export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

const statusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.FailedPrecondition]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 408,
};

const codeName = (c: Code) => Code[c].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

/**
 * Writes `err` as a JSON error with `status` (default: from its code).
 * `close`: the request body was not (fully) read, so the HTTP/1.1
 * connection ends after the answer rather than reading what is left.
 */
export function answerError(
  req: Req,
  res: Res,
  err: ConnectError,
  opts: { status?: number; close?: boolean } = {},
): void {
  if (res.headersSent || res.writableEnded) {
    req.socket?.destroy();
    return;
  }
  const body = JSON.stringify({ code: codeName(err.code), message: err.rawMessage });
  const headers: Record<string, string | number> = {
    ...securityHeaders,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  };
  if (err.code === Code.Unauthenticated) headers["www-authenticate"] = "Bearer";
  if (opts.close && !("stream" in req)) headers.connection = "close";
  res.writeHead(opts.status ?? statusOf[err.code] ?? 500, headers);
  res.end(body);
  if (opts.close && !("stream" in req)) {
    res.once("finish", () => req.socket?.destroySoon());
  }
}

/** A ConnectError for anything thrown (internals hidden). */
export function asConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  return new ConnectError("internal error", Code.Internal);
}

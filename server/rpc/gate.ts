/**
 * The RPC entrance of the HTTP server: connect-node's routing (what
 * `connectNodeAdapter` does, with the same connect-node functions) plus what
 * must happen before a request body is read. connect-node reads and parses
 * a unary body before any interceptor runs, so an interceptor cannot refuse
 * a stranger before their megabyte arrives; here:
 * - a call to a procedure that needs a token is authenticated from its
 *   headers first; without a valid token it is refused at once, answered
 *   exactly as the auth interceptor would answer (see rpc-refusal.ts), and
 *   its body is never read. The caller found is handed to the interceptors
 *   as a context value, so the token is verified once per call;
 * - public calls (AuthService.Register/Login, grpc.* health and reflection)
 *   pass unchanged, but their bodies are bounded to
 *   {@link publicReadMaxBytes}, and their long-lived streams (Health.Watch,
 *   reflection) to a number per process;
 * - client-streaming and bidirectional calls leave the listener's body
 *   timeouts once admitted: their request side is the client's own stream;
 * - every call refused here, and every unary call that fails before the
 *   interceptors (a malformed body, a body too large or too slow), leaves
 *   one log line written by `logRpc`, like the logging interceptor's.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { AdminCaller, ApiKeys } from "../domain/admin/api-keys.js";
import type { TokenService } from "../domain/auth/tokens.js";
import {
  connectWire,
  createAsyncIterable,
  grpcWebWire,
  grpcWire,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "../platform/connect-protocol.js";
import { rateLimited } from "../platform/errors.js";
import {
  allowBody,
  releaseBodyTimeout,
  requestBodyReceived,
} from "../platform/http/one-port-listener.js";
import { adminCallerKey, type Caller, callerKey, type RpcCall, rpcCallKey } from "./context.js";
import { DirectUnary } from "./direct/direct-unary.js";
import { authenticateAdmin, isAdminService } from "./interceptors/admin.js";
import { authenticate, isPublic } from "./interceptors/auth.js";
import type { ErrorMasker } from "./interceptors/errors.js";
import { logRpc, protocolOf } from "./interceptors/logging.js";
import { type CallWire, classifyCall, writeRefusal } from "./refusal.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/**
 * Largest request body of a public call (Register, Login, health,
 * reflection): the largest Register request is ~1.4 KiB (its fields' length
 * limits in proto/chat/v1/auth.proto, 4 bytes per character), and anyone may
 * send them, so a stranger's unfinished body holds at most this much.
 */
export const publicReadMaxBytes = 4 * 1024;

/** Seconds a client refused for too many public streams is told to wait. */
const streamsRetryAfterMs = 5_000;

/** What the gate needs. */
export interface RpcGateOptions {
  routes: (router: ConnectRouter) => void;
  /** The interceptors of every call, outermost first. */
  interceptors: Interceptor[];
  /** Largest request message (connect-node's readMaxBytes). */
  readMaxBytes: number;
  tokens: TokenService;
  logger: Logger;
  /** What a client sees of a failure (a token check that failed on a dependency). */
  mask: ErrorMasker;
  /** Open server-streaming or bidirectional calls without a token, per process. */
  maxUnauthenticatedStreams: number;
  /** API keys of AdminService calls (checked here instead of user tokens). */
  adminKeys: ApiKeys;
  /** Told of every AdminService call refused here, for the audit log. */
  onAdminRefused?: (method: string, err: ConnectError) => void;
  /** Requests that are not RPCs (static files, /healthz). */
  fallback: (req: Req, res: Res) => void;
  /**
   * Serve authenticated unary calls of the common shape on the direct path
   * (rpc/direct/direct-unary.ts) instead of connect-node; default true.
   */
  directUnary?: boolean;
}

/** Who a call was authenticated as: a user (chat.v1) or an operator (chat.admin.v1). */
interface Authenticated {
  user?: Caller;
  admin?: AdminCaller;
}

/** One call as the gate sees it (the part interceptors see is {@link RpcCall}). */
interface GateCall extends RpcCall {
  wire: CallWire | undefined;
}

/** Outermost interceptor: notes that the call reached the interceptors. */
const markIntercepted: Interceptor = (next) => (req) => {
  const call = req.contextValues.get(rpcCallKey);
  if (call) call.intercepted = true;
  return next(req);
};

/** Routes RPCs to connect-node after the checks described in the file comment. */
export class RpcGate {
  private readonly paths = new Map<string, UniversalHandler>();
  private readonly calls = new WeakMap<object, GateCall>();
  private publicStreams = 0;
  private readonly direct: DirectUnary | undefined;

  constructor(private readonly opts: RpcGateOptions) {
    const interceptors = [markIntercepted, ...opts.interceptors];
    const router = createConnectRouter({
      interceptors,
      readMaxBytes: opts.readMaxBytes,
      acceptCompression: [compressionGzip, compressionBrotli],
    });
    opts.routes(router);
    for (const h of router.handlers) this.paths.set(h.requestPath, h);
    if (opts.directUnary !== false) {
      this.direct = new DirectUnary({
        routes: opts.routes,
        interceptors,
        readMaxBytes: opts.readMaxBytes,
        logEarly: (values, err) => {
          const call = values.get(rpcCallKey) as GateCall | undefined;
          if (call && !call.logged && !call.intercepted) this.log(call, err);
        },
      });
    }
  }

  /** Open long-lived calls without a token (for tests and metrics). */
  get unauthenticatedStreams(): number {
    return this.publicStreams;
  }

  /** Serves one request (the Node request listener). */
  handle(req: Req, res: Res): void {
    const h = this.paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (!h) {
      this.opts.fallback(req, res);
      return;
    }
    const wire = classifyCall(req, h.method);
    const call: GateCall = {
      procedure: `${h.service.typeName}/${h.method.name}`,
      protocol: wire?.protocol ?? protocolOf(header(req, "content-type") ?? null),
      kind: h.method.methodKind,
      wire,
      started: performance.now(),
      intercepted: false,
      logged: false,
    };
    this.calls.set(req, call);
    // Not a call connect-node would run (415, 405, 505): it answers without reading the body.
    if (!wire) {
      this.dispatch(req, res, h, call);
      return;
    }
    const kind = h.method.methodKind;
    const streamsUp = kind === "client_streaming" || kind === "bidi_streaming";

    if (isPublic(h.service.typeName, h.method.name)) {
      if (kind === "unary" || kind === "server_streaming") {
        const length = Number(header(req, "content-length") ?? "0");
        if (length > publicReadMaxBytes) {
          this.refuse(req, res, call, tooLarge(length));
          return;
        }
      }
      if (kind !== "unary") {
        if (this.publicStreams >= this.opts.maxUnauthenticatedStreams) {
          const limit = this.opts.maxUnauthenticatedStreams;
          this.refuse(
            req,
            res,
            call,
            rateLimited(
              `too many open streams without a token on this server (limit ${limit}): try again later`,
              streamsRetryAfterMs,
            ),
          );
          return;
        }
        this.publicStreams += 1;
        res.once("close", () => {
          this.publicStreams -= 1;
        });
      }
      if (streamsUp) releaseBodyTimeout(req);
      this.dispatch(req, res, h, call, streamsUp ? undefined : publicReadMaxBytes);
      return;
    }

    let gone = false;
    res.once("close", () => {
      gone = true;
    });
    // HTTP/1.1: read no more of the body while the token is checked (what came with the
    // headers is all a stranger gets buffered); HTTP/2 flow control does the same per stream.
    const socket = "stream" in req ? undefined : req.socket;
    socket?.pause();
    const left = () => this.log(call, new ConnectError("client went away", Code.Canceled));
    const admin = isAdminService(h.service.typeName);
    const authorization = header(req, "authorization");
    const checked: Promise<Authenticated> = admin
      ? authenticateAdmin(this.opts.adminKeys, authorization).then((a) => ({ admin: a }))
      : authenticate(this.opts.tokens, authorization).then((u) => ({ user: u }));
    checked.then(
      (caller) => {
        if (gone) return left();
        socket?.resume();
        if (streamsUp) releaseBodyTimeout(req);
        if (kind === "unary" && wire && this.direct) {
          call.path = "direct";
          const values = createContextValues().set(rpcCallKey, call);
          if (caller.user) values.set(callerKey, caller.user);
          if (caller.admin) values.set(adminCallerKey, caller.admin);
          if (this.direct.take(req, res, h.requestPath, wire, values)) {
            return;
          }
          call.path = undefined;
        }
        this.dispatch(req, res, h, call, undefined, caller);
      },
      (err: unknown) => {
        if (gone) return left();
        // A complete request on a kept-alive connection: the next request must be read.
        // An incomplete one: the connection closes after the answer, unread.
        if (requestBodyReceived(req)) socket?.resume();
        const refusal = this.opts.mask(err, call.procedure);
        if (admin) this.opts.onAdminRefused?.(h.method.name, refusal);
        this.refuse(req, res, call, refusal);
      },
    );
  }

  /**
   * The listener closed `req` because its body stopped arriving. A unary
   * call has not reached the interceptors (its body comes first), so its
   * line is written here; a stream's line comes from the interceptors.
   */
  bodyTimedOut(req: Req, reason: "idle" | "total"): void {
    const call = this.calls.get(req);
    if (!call || call.intercepted || call.logged) return;
    this.log(
      call,
      new ConnectError(
        reason === "idle" ? "request body stopped arriving" : "request body took too long",
        Code.DeadlineExceeded,
      ),
    );
  }

  private log(call: GateCall, err: unknown): void {
    call.logged = true;
    logRpc(this.opts.logger, {
      procedure: call.procedure,
      protocol: call.protocol,
      kind: call.kind,
      started: call.started,
      userId: undefined,
      err,
      ...(call.path ? { path: call.path } : {}),
    });
  }

  private refuse(req: Req, res: Res, call: GateCall, err: ConnectError): void {
    this.log(call, err);
    if (call.wire) writeRefusal(req, res, call.wire, err);
  }

  private dispatch(
    req: Req,
    res: Res,
    h: UniversalHandler,
    call: GateCall,
    bodyLimit?: number,
    caller?: Authenticated,
  ): void {
    // connect-node reads the body from here on: a client waiting for `100 Continue` may send it.
    allowBody(req, res);
    const values = createContextValues().set(rpcCallKey, call);
    if (caller?.user) values.set(callerKey, caller.user);
    if (caller?.admin) values.set(adminCallerKey, caller.admin);
    let uReq: UniversalServerRequest;
    try {
      uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    } catch (err) {
      // No authority (an HTTP/1.0 request without Host): nothing to route.
      this.log(call, ConnectError.from(err, Code.InvalidArgument));
      res.writeHead(400);
      res.end();
      return;
    }
    if (bodyLimit !== undefined && isIterable(uReq.body)) {
      uReq = { ...uReq, body: limitBody(uReq.body, bodyLimit) };
    }
    h(uReq)
      .then(async (uRes) => {
        // Failed before the interceptors: no logging interceptor saw it.
        if (!call.intercepted && !call.logged) {
          const seen = await responseError(uRes, call.wire);
          uRes = seen.response;
          this.log(call, seen.error);
        }
        await universalResponseToNodeResponse(uRes, res);
      })
      .catch((reason: unknown) => {
        // Write errors of a client that left (or of a request this server already answered,
        // e.g. a body timeout) are not failures of the call.
        if (ConnectError.from(reason).code === Code.Aborted || res.writableEnded) return;
        this.opts.logger.warn({ err: reason, procedure: call.procedure }, "response not written");
      });
  }
}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isIterable(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function tooLarge(size: number): ConnectError {
  return new ConnectError(
    `request of ${size} bytes is larger than the limit of ${publicReadMaxBytes} bytes for calls without a token`,
    Code.ResourceExhausted,
  );
}

/** `body`, failing with ResourceExhausted once it exceeds `max` bytes. */
async function* limitBody(body: AsyncIterable<Uint8Array>, max: number): AsyncIterable<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) throw tooLarge(size);
    yield chunk;
  }
}

/**
 * The error a response carries, for the log line of a call that failed
 * before the interceptors, and the response to send (its body re-wrapped
 * when it had to be read). Such responses are small: an error and nothing
 * else.
 */
async function responseError(
  response: UniversalServerResponse,
  wire: CallWire | undefined,
): Promise<{ response: UniversalServerResponse; error: ConnectError | undefined }> {
  const chunks: Uint8Array[] = [];
  if (response.body && isIterable(response.body)) {
    for await (const c of response.body) chunks.push(c);
    response = { ...response, body: createAsyncIterable(chunks) };
  }
  const body = Buffer.concat(chunks);
  const byStatus = new ConnectError(
    `HTTP ${response.status}`,
    connectWire.codeFromHttpStatus(response.status),
  );
  if (!wire || response.status !== 200) {
    const json =
      wire?.protocol === "connect" &&
      response.header?.get("content-type") === "application/json" &&
      !response.header.get("content-encoding");
    return {
      response,
      error: json ? connectWire.errorFromJsonBytes(body, undefined, byStatus) : byStatus,
    };
  }
  if (wire.protocol === "grpc") {
    return {
      response,
      error: grpcWire.findTrailerError(response.trailer ?? new Headers()) ?? undefined,
    };
  }
  if (wire.protocol === "grpc-web") {
    // The trailer frame is the last envelope; compressed ones (never for an error this small)
    // are left unread.
    for (let at = 0; at + 5 <= body.byteLength; ) {
      const flags = body[at] ?? 0;
      const length = body.readUInt32BE(at + 1);
      if ((flags & grpcWebWire.trailerFlag) === grpcWebWire.trailerFlag && (flags & 1) === 0) {
        const trailer = grpcWebWire.trailerParse(body.subarray(at + 5, at + 5 + length));
        return { response, error: grpcWire.findTrailerError(trailer) ?? undefined };
      }
      at += 5 + length;
    }
  }
  return { response, error: undefined };
}

/**
 * The direct path of authenticated unary calls (SendMessage above all).
 *
 * connect-node turns each request into its universal form before a handler
 * runs: a Headers object built from every header, an AbortController linked
 * to a deadline signal, the body as a chain of async iterables, a second
 * chain for the response, compression negotiation and URL parsing. Under a
 * send load that machinery cost more CPU than the send itself (profile in
 * docs/performance.md). Here a unary call in the common shape (POST,
 * uncompressed; Connect unary, gRPC over HTTP/2 or gRPC-Web; with or
 * without a deadline) that the RPC gate has authenticated is served by:
 * - reading the body once, bounded like connect-node's readMaxBytes;
 * - parsing it with the method's own serialization, as connect-node makes
 *   it (so malformed input gets the same INVALID_ARGUMENT);
 * - running the same interceptors, in the same order, around the same
 *   service implementation: logging, error masking, the database gate,
 *   validation and authorization behave exactly as on connect-node;
 * - writing the answer in one write, with the errors encoded by the
 *   refusal writer the gate already uses (byte for byte connect-node's).
 * Request headers, the URL and the abort signal are built only when an
 * interceptor or handler asks for them. A deadline aborts the handler's
 * signal with DeadlineExceeded, as connect-node's does. Everything else
 * (compressed calls, GET, gRPC over HTTP/1.1, public procedures, streams)
 * goes to connect-node unchanged.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { DescMessage, DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  connectWire,
  createMethodSerializationLookup,
  encodeEnvelope,
  grpcWebWire,
  grpcWire,
  type MethodSerializationLookup,
} from "../../platform/connect-protocol.js";
import { allowBody } from "../../platform/http/one-port-listener.js";
import type { CallWire } from "../refusal.js";
import { writeRefusal } from "../refusal.js";
import { readBody } from "./request-body.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
type Impl = (message: unknown, ctx: HandlerContext) => unknown;

/** One unary method the direct path can serve. */
interface Entry {
  method: DescMethodUnary;
  service: DescService;
  impl: Impl;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** What the direct unary path needs. */
export interface DirectUnaryOptions {
  /** Registers the services (the same function the connect router gets). */
  routes: (router: ConnectRouter) => void;
  /** The interceptors of every call, outermost first (the same list connect-node runs). */
  interceptors: Interceptor[];
  /** Largest request message. */
  readMaxBytes: number;
  /** Writes the log line of a call that failed before the interceptors ran. */
  logEarly: (values: ContextValues, err: unknown) => void;
}

/** Serves eligible authenticated unary calls; see the file comment. */
export class DirectUnary {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: DirectUnaryOptions) {
    opts.routes(recordingRouter(this.entries, opts.readMaxBytes));
  }

  /**
   * Takes the call if it is a unary call of the common shape (see the file
   * comment); false leaves it to connect-node. `values` carry the caller
   * and the gate's call record.
   */
  take(req: Req, res: Res, path: string, wire: CallWire, values: ContextValues): boolean {
    const entry = this.entries.get(path);
    if (!entry) return false;
    const shape = eligible(req, wire);
    if (!shape) return false;
    this.serve(req, res, entry, wire, values, shape.timeoutMs).catch(() => {
      // serve() answers every failure itself; this only keeps a write error after the
      // client left from becoming an unhandled rejection.
    });
    return true;
  }

  private async serve(
    req: Req,
    res: Res,
    entry: Entry,
    wire: CallWire,
    values: ContextValues,
    timeoutMs: number | undefined,
  ): Promise<void> {
    let gone = false;
    let finished = false;
    const call = new DirectCall(req, entry, wire, values, timeoutMs);
    res.on("error", ignore);
    res.once("close", () => {
      gone = true;
      if (!finished) call.abort(new ConnectError("client went away", Code.Canceled));
    });
    allowBody(req, res);
    let input: unknown;
    try {
      const body = await readBody(req, this.opts.readMaxBytes);
      input = entry.serialization.getI(wire.binary).parse(unwrap(body, wire));
    } catch (err) {
      finished = true;
      // A body that stopped arriving was answered and logged by the listener and the gate.
      if (gone || res.writableEnded || res.headersSent) return;
      const e = ConnectError.from(err, Code.InvalidArgument);
      this.opts.logEarly(values, e);
      writeRefusal(req, res, wire, e);
      return;
    }
    call.message = input;
    let out: UnaryResponse;
    try {
      out = await runInterceptors(this.opts.interceptors, entry, call);
    } catch (err) {
      finished = true;
      call.finish();
      if (gone || res.headersSent) return;
      writeRefusal(req, res, wire, ConnectError.from(err, Code.Internal));
      return;
    }
    finished = true;
    call.finish();
    if (gone || res.headersSent) return;
    writeSuccess(res, wire, entry.serialization.getO(wire.binary).serialize(out.message), out);
  }
}

function ignore(): void {}

/** A router that records each unary method's implementation instead of building handlers. */
function recordingRouter(entries: Map<string, Entry>, readMaxBytes: number): ConnectRouter {
  const limits = { readMaxBytes, writeMaxBytes: 0xffffffff, compressMinBytes: 1024 };
  const add = (method: DescMethod, impl: Impl) => {
    if (method.methodKind !== "unary") return;
    entries.set(`/${method.parent.typeName}/${method.name}`, {
      method: method as DescMethodUnary,
      service: method.parent,
      impl,
      serialization: createMethodSerializationLookup(method, undefined, undefined, limits),
    });
  };
  const router: ConnectRouter = {
    handlers: [],
    service(service, implementation) {
      const impls = implementation as Partial<Record<string, Impl>>;
      for (const method of service.methods) {
        const fn = impls[method.localName];
        if (typeof fn === "function") add(method, fn.bind(implementation));
      }
      return router;
    },
    rpc(method, impl) {
      add(method, impl as unknown as Impl);
      return router;
    },
  };
  return router;
}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function identity(encoding: string | undefined): boolean {
  return encoding === undefined || encoding === "" || encoding === "identity";
}

/**
 * The common shape: POST, uncompressed, gRPC only on HTTP/2, a valid
 * deadline or none. Returns the call's timeout (undefined: none), or false.
 */
function eligible(req: Req, wire: CallWire): { timeoutMs?: number } | false {
  if (req.method !== "POST") return false;
  let timeout: { timeoutMs?: number; error?: ConnectError };
  if (wire.protocol === "connect") {
    if (wire.stream) return false;
    if (!identity(header(req, "content-encoding"))) return false;
    const version = header(req, "connect-protocol-version");
    if (version !== undefined && version !== "1") return false;
    timeout = connectWire.parseTimeout(header(req, "connect-timeout-ms") ?? null, maxTimeoutMs);
  } else {
    if (wire.protocol === "grpc" && req.httpVersionMajor !== 2) return false;
    if (!identity(header(req, "grpc-encoding"))) return false;
    timeout = grpcWire.parseTimeout(header(req, "grpc-timeout") ?? null, maxTimeoutMs);
  }
  // A malformed timeout is answered by connect-node, with its own error.
  if (timeout.error) return false;
  return timeout.timeoutMs === undefined ? {} : { timeoutMs: timeout.timeoutMs };
}

/** connect-node's default bound on a client's deadline (none). */
const maxTimeoutMs = Number.MAX_SAFE_INTEGER;

/** The message bytes of a request body: Connect unary as is, gRPC and gRPC-Web in one envelope. */
function unwrap(body: Uint8Array, wire: CallWire): Uint8Array {
  if (wire.protocol === "connect") return body;
  const bad = (why: string) => new ConnectError(`protocol error: ${why}`, Code.InvalidArgument);
  if (body.byteLength < 5) throw bad("missing envelope");
  const flags = body[0] ?? 0;
  const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
  if (flags !== 0) throw bad(`unexpected envelope flags ${flags}`);
  if (length !== body.byteLength - 5) throw bad("expected exactly one message");
  return body.subarray(5);
}

/** Runs the interceptors around the implementation, as connect's invokeUnaryImplementation does. */
function runInterceptors(
  interceptors: Interceptor[],
  entry: Entry,
  call: DirectCall,
): Promise<UnaryResponse> {
  const last = async (req: UnaryRequest): Promise<UnaryResponse> => {
    const ctx = req === (call as unknown) ? call : new DirectContext(call, req);
    const result = await entry.impl(req.message, ctx as unknown as HandlerContext);
    const output = entry.method.output;
    return {
      stream: false,
      service: entry.service,
      method: entry.method,
      message: isMessage(result, output) ? result : create(output, result as never),
      header: call.responseHeader,
      trailer: call.responseTrailer,
    };
  };
  let next = last as (req: UnaryRequest) => Promise<UnaryResponse>;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    next = (interceptors[i] as Interceptor)(next as never) as never;
  }
  return next(call as unknown as UnaryRequest);
}

/**
 * The request interceptors see and, for the implementation, its handler
 * context: one object, with headers, URL and signal made on first use.
 */
class DirectCall {
  readonly stream = false;
  readonly requestMethod = "POST";
  readonly protocolName: string;
  readonly method: DescMethodUnary;
  readonly service: DescService;
  message: unknown;
  private headers?: Headers;
  private controller?: AbortController;
  private deadline?: NodeJS.Timeout;
  private ended = false;
  private response?: { header: Headers; trailer: Headers };
  /** `performance.now()` by which the client's deadline passes; undefined: none. */
  private readonly due: number | undefined;

  constructor(
    private readonly req: Req,
    entry: Entry,
    wire: CallWire,
    readonly contextValues: ContextValues,
    timeoutMs: number | undefined,
  ) {
    this.method = entry.method;
    this.service = entry.service;
    this.protocolName = wire.protocol;
    this.due = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  }

  get values(): ContextValues {
    return this.contextValues;
  }

  get header(): Headers {
    this.headers ??= requestHeaders(this.req);
    return this.headers;
  }

  get requestHeader(): Headers {
    return this.header;
  }

  get url(): string {
    const host = header(this.req, "host") ?? header(this.req, ":authority") ?? "localhost";
    return `http://${host}${this.req.url ?? "/"}`;
  }

  /**
   * Aborted when the client goes away, when its deadline passes (with
   * DeadlineExceeded, as connect-node's), and when the call ends.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      const left = this.timeoutMs();
      if (!this.ended && left !== undefined) {
        const expire = () =>
          controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        if (left <= 0) expire();
        else this.deadline = setTimeout(expire, left);
      }
    }
    return this.controller.signal;
  }

  get responseHeader(): Headers {
    this.response ??= { header: new Headers(), trailer: new Headers() };
    return this.response.header;
  }

  get responseTrailer(): Headers {
    this.response ??= { header: new Headers(), trailer: new Headers() };
    return this.response.trailer;
  }

  /** The response headers and trailers a handler or interceptor set, if any. */
  get responseMeta(): { header: Headers; trailer: Headers } | undefined {
    return this.response;
  }

  /** Milliseconds left before the client's deadline; undefined: no deadline. */
  timeoutMs(): number | undefined {
    return this.due === undefined ? undefined : this.due - performance.now();
  }

  /** Aborts the signal (the client went away), if anyone asked for it. */
  abort(reason: unknown): void {
    this.finish();
    this.controller?.abort(reason);
  }

  /**
   * The call is answered: the deadline no longer runs. connect-node also
   * aborts the signal here; nothing of ours listens after a call ends, and
   * an abort without a reason makes a DOMException (2.6% of the server's
   * CPU in a send benchmark), so the signal is left as it is.
   */
  finish(): void {
    this.ended = true;
    clearTimeout(this.deadline);
  }
}

/** The handler context of a request an interceptor replaced (none of ours do; kept correct anyway). */
class DirectContext {
  constructor(
    private readonly call: DirectCall,
    private readonly req: UnaryRequest,
  ) {}
  get method() {
    return this.call.method;
  }
  get service() {
    return this.req.service;
  }
  get signal() {
    return this.req.signal;
  }
  get requestHeader() {
    return this.req.header;
  }
  get values() {
    return this.req.contextValues;
  }
  get url() {
    return this.req.url;
  }
  get requestMethod() {
    return this.req.requestMethod;
  }
  get protocolName() {
    return this.call.protocolName;
  }
  get responseHeader() {
    return this.call.responseHeader;
  }
  get responseTrailer() {
    return this.call.responseTrailer;
  }
  timeoutMs() {
    return this.call.timeoutMs();
  }
}

/** Request headers as connect-node presents them (HTTP/2 pseudo-headers left out). */
function requestHeaders(req: Req): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) h.append(k, one);
    else h.append(k, v);
  }
  return h;
}

/** Writes a successful answer in the call's protocol, in one write. */
function writeSuccess(res: Res, wire: CallWire, bytes: Uint8Array, out: UnaryResponse): void {
  const extraHeader = out.header;
  const extraTrailer = out.trailer;
  const headers: OutgoingHttpHeaders = {};
  extraHeader.forEach((v, k) => {
    headers[k] = v;
  });
  switch (wire.protocol) {
    case "connect": {
      headers["content-type"] = wire.binary
        ? connectWire.contentTypeUnaryProto
        : connectWire.contentTypeUnaryJson;
      // Connect unary sends trailers as prefixed headers.
      extraTrailer.forEach((v, k) => {
        headers[`trailer-${k}`] = v;
      });
      headers["content-length"] = bytes.byteLength;
      res.writeHead(200, headers);
      (res as ServerResponse).end(bytes);
      return;
    }
    case "grpc": {
      headers["content-type"] = wire.binary ? grpcWire.contentTypeProto : grpcWire.contentTypeJson;
      const trailers: Record<string, string> = { "grpc-status": "0" };
      extraTrailer.forEach((v, k) => {
        trailers[k] = v;
      });
      res.writeHead(200, headers);
      res.addTrailers(trailers);
      (res as Http2ServerResponse).end(encodeEnvelope(0, bytes));
      return;
    }
    case "grpc-web": {
      headers["content-type"] = wire.binary
        ? grpcWebWire.contentTypeProto
        : grpcWebWire.contentTypeJson;
      const trailers = new Headers({ "grpc-status": "0" });
      extraTrailer.forEach((v, k) => {
        trailers.set(k, v);
      });
      const body = Buffer.concat([
        encodeEnvelope(0, bytes),
        encodeEnvelope(grpcWebWire.trailerFlag, grpcWebWire.trailerSerialize(trailers)),
      ]);
      headers["content-length"] = body.byteLength;
      res.writeHead(200, headers);
      (res as ServerResponse).end(body);
      return;
    }
  }
}

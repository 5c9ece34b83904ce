/**
 * One structured log line per RPC: procedure, protocol, code, duration and
 * user id. Streams are logged when they end. Messages, headers and therefore
 * passwords and tokens are never logged.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { limiterFor } from "../../platform/log-limiter.js";
import { callerKey, rpcCallKey } from "../context.js";

/** Wire protocol of a request, from its content type. */
export function protocolOf(contentType: string | null): "grpc" | "grpc-web" | "connect" {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Told of every finished call (and Chat command): its entry, code name and seconds. */
export type RpcObserver = (e: RpcLogEntry, code: string, seconds: number) => void;

/**
 * Observers by logger: every place that finishes a call (interceptor,
 * gate, direct path, Chat commands) already holds the server's logger, so
 * metrics hang off it instead of a new parameter at each of them.
 */
const rpcObservers = new WeakMap<Logger, Set<RpcObserver>>();

/** Registers an observer of every call logged through `logger`; returns its removal. */
export function observeRpcs(logger: Logger, fn: RpcObserver): () => void {
  let set = rpcObservers.get(logger);
  if (!set) {
    set = new Set();
    rpcObservers.set(logger, set);
  }
  set.add(fn);
  return () => set.delete(fn);
}

/** What one RPC log line is made of. */
export interface RpcLogEntry {
  procedure: string;
  protocol: string;
  kind: string;
  /** `performance.now()` at the start of the call. */
  started: number;
  userId: bigint | undefined;
  /** How the call ended; undefined when it succeeded. */
  err: unknown;
  /** Set by the direct paths ("direct": Subscribe, unary calls), so operators can tell. */
  path?: string;
  /** A command of a Chat stream (e.g. "sendMessage"), logged like a call of its own. */
  command?: string;
}

/**
 * Writes the log line of one finished RPC (also used by the direct
 * Subscribe path and for each Chat command). Failed calls are limited per
 * procedure and code (log-limiter.ts), so no client can flood the log.
 */
export function logRpc(logger: Logger, e: RpcLogEntry): void {
  const code = e.err === undefined ? "ok" : Code[ConnectError.from(e.err).code];
  // Observers (metrics) see every call, also those whose line the limiter drops.
  const observers = rpcObservers.get(logger);
  if (observers) {
    const seconds = (performance.now() - e.started) / 1000;
    for (const fn of observers) fn(e, code ?? "Unknown", seconds);
  }
  if (
    e.err !== undefined &&
    !limiterFor(logger).allow(`rpc:${e.procedure}:${e.command ?? ""}:${code}`)
  )
    return;
  const durationMs = Math.round((performance.now() - e.started) * 10) / 10;
  const line = {
    procedure: e.procedure,
    ...(e.command ? { command: e.command } : {}),
    protocol: e.protocol,
    code,
    durationMs,
    userId: e.userId?.toString(),
    kind: e.kind,
    ...(e.path ? { path: e.path } : {}),
  };
  logger[e.err === undefined || code !== "Internal" ? "info" : "error"](line, "rpc");
}

/** Creates the logging interceptor; it should be the outermost one. */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    // The gate already knows the protocol (and the direct path builds request headers only on demand).
    const call = req.contextValues.get(rpcCallKey);
    const protocol = call?.protocol ?? protocolOf(req.header.get("content-type"));
    const done = (err: unknown) =>
      logRpc(logger, {
        procedure,
        protocol,
        kind: req.method.methodKind,
        started,
        userId: req.contextValues.get(callerKey)?.userId,
        err,
        ...(call?.path ? { path: call.path } : {}),
      });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      done(err);
      throw err;
    }
    if (!res.stream) {
      done(undefined);
      return res;
    }
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        let failure: unknown;
        try {
          yield* source;
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          // A client that goes away ends the generator early: log it as such.
          done(
            failure ??
              (req.signal.aborted
                ? new ConnectError("client went away", Code.Canceled)
                : undefined),
          );
        }
      })(),
    };
  };
}

/**
 * One structured log line per RPC: procedure, protocol, code, duration and
 * user id. Streams are logged when they end. Messages, headers and therefore
 * passwords and tokens are never logged.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { callerKey } from "../context.js";

/** Wire protocol of a request, from its content type. */
export function protocolOf(contentType: string | null): "grpc" | "grpc-web" | "connect" {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Creates the logging interceptor; it should be the outermost one. */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const protocol = protocolOf(req.header.get("content-type"));
    const done = (err: unknown) => {
      const code = err === undefined ? "ok" : Code[ConnectError.from(err).code];
      const userId = req.contextValues.get(callerKey)?.userId.toString();
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      const line = { procedure, protocol, code, durationMs, userId, kind: req.method.methodKind };
      const level = err === undefined || code !== "Internal" ? "info" : "error";
      logger[level](line, "rpc");
    };
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

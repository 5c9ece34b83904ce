/**
 * Turns unexpected errors into `Internal` without leaking internals. Connect
 * would otherwise send the message of any thrown Error (an SQL error, a file
 * path) to the client. The original is logged with a correlation id that the
 * client also gets, so a bug report can be matched to the log line.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";

/**
 * `err` as the client may see it: a ConnectError as is, anything else as
 * Internal with a correlation id, logged with the original.
 */
export function maskError(logger: Logger, err: unknown, procedure: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const errorId = randomUUID();
  logger.error({ err, errorId, procedure }, "unexpected error");
  return new ConnectError(`internal error (id ${errorId})`, Code.Internal);
}

/** Creates the interceptor that masks every non-ConnectError. */
export function errorInterceptor(logger: Logger): Interceptor {
  const mask = (err: unknown, procedure: string) => maskError(logger, err, procedure);
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* source;
          } catch (err) {
            throw mask(err, procedure);
          }
        })(),
      };
    } catch (err) {
      throw mask(err, procedure);
    }
  };
}

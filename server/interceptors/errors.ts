/**
 * What a client sees of a failure. A ConnectError goes out as is. A failure
 * of a dependency that will pass (the database or Redis unreachable, a
 * deadlock that outlasted our retries) becomes Unavailable with RetryInfo,
 * so clients that retry only Unavailable do retry calls that were safe to
 * retry. Anything else becomes Internal without leaking internals: Connect
 * would otherwise send the message of any thrown Error (an SQL error, a
 * file path) to the client. Both are logged with a correlation id that the
 * client also gets, so a bug report can be matched to the log line.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorReason } from "../../gen/chat/v1/errors_pb.js";
import type { DbGate } from "../db/db-gate.js";
import { isDbUnreachable, isTransientDbError } from "../db/errors.js";
import { unavailable } from "../errors.js";
import { limiterFor } from "../log-limiter.js";
import { isRedisConnectionError } from "../redis.js";

/** Turns any thrown value into what the client may see; see the file comment. */
export type ErrorMasker = (err: unknown, procedure: string) => ConnectError;

/** Delay suggested to clients after a transient fault. */
const retryAfterMs = 1_000;

/**
 * Creates the masker. `gate` hears about unreachable-database errors so
 * that later calls fail fast instead of each waiting for a pool timeout.
 */
export function errorMasker(logger: Logger, gate?: DbGate): ErrorMasker {
  const limiter = limiterFor(logger);
  return (err, procedure) => {
    if (err instanceof ConnectError) return err;
    const errorId = randomUUID();
    const transient = isTransientDbError(err) || isRedisConnectionError(err);
    if (transient) {
      if (isDbUnreachable(err)) gate?.observe(err);
      if (limiter.allow(`transient:${procedure}`)) {
        logger.warn({ err, errorId, procedure }, "transient dependency failure");
      }
      return unavailable(
        `a service this server depends on did not answer (id ${errorId}); retry shortly`,
        retryAfterMs,
        ErrorReason.DEPENDENCY_UNAVAILABLE,
      );
    }
    if (limiter.allow(`internal:${procedure}`)) {
      logger.error({ err, errorId, procedure }, "unexpected error");
    }
    return new ConnectError(`internal error (id ${errorId})`, Code.Internal);
  };
}

/**
 * `err` as the client may see it, without a database gate (for callers
 * outside a server, e.g. tests).
 */
export function maskError(logger: Logger, err: unknown, procedure: string): ConnectError {
  return errorMasker(logger)(err, procedure);
}

/** Creates the interceptor that masks every non-ConnectError. */
export function errorInterceptor(mask: ErrorMasker): Interceptor {
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

/**
 * Refuses calls at once while the database is known to be unreachable
 * (Unavailable with RetryInfo) instead of letting each wait for a pool
 * timeout. Health and reflection (grpc.*) stay open; they need no database.
 */
export function availabilityInterceptor(gate: DbGate): Interceptor {
  return (next) => async (req) => {
    if (!req.service.typeName.startsWith("grpc.")) gate.check();
    return next(req);
  };
}

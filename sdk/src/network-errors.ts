/**
 * fetch() reports a lost connection (server down, network gone, a stream
 * cut mid-way) as a TypeError, which Connect passes on as UNKNOWN. It is
 * the browser's way of saying UNAVAILABLE, so this interceptor says so:
 * then feeds and retried sends treat it as the transient fault it is, in
 * browsers exactly as in Node (where connect-node already reports it as
 * UNAVAILABLE).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

function isNetworkFailure(err: unknown): err is Error {
  if (err instanceof TypeError) return true;
  return err instanceof ConnectError && err.code === Code.Unknown && err.cause instanceof TypeError;
}

function unavailable(err: Error): ConnectError {
  const cause = err instanceof ConnectError ? err.cause : err;
  const message = err instanceof ConnectError ? err.rawMessage : err.message;
  return new ConnectError(
    `network error: ${message}`,
    Code.Unavailable,
    undefined,
    undefined,
    cause,
  );
}

/** Maps fetch's network failures to UNAVAILABLE, for unary calls and streams. */
export function networkErrorsInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const message = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* message;
          } catch (err) {
            throw isNetworkFailure(err) ? unavailable(err) : err;
          }
        })(),
      };
    } catch (err) {
      throw isNetworkFailure(err) ? unavailable(err) : err;
    }
  };
}

/**
 * Adds `Authorization: Bearer <token>` to every call but Register and
 * Login, at the Transport level so it works with any transport (connect-node,
 * connect-web, an in-memory router). A call refused with UNAUTHENTICATED
 * drops the token; a unary call is then repeated once with the token
 * `getToken` gives next, which is safe because the server refuses before
 * doing anything. Streams are not repeated here: the resumable feed
 * reconnects by itself.
 */
import type { DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { TokenSource } from "./token-source.js";

/** Calls that work without a token (and whose UNAUTHENTICATED means bad credentials). */
const PUBLIC_METHODS = new Set(["chat.v1.AuthService/Register", "chat.v1.AuthService/Login"]);

function isPublic(method: DescMethodUnary | DescMethodStreaming): boolean {
  return PUBLIC_METHODS.has(`${method.parent.typeName}/${method.name}`);
}

function withAuthorization(header: HeadersInit | undefined, token: string | undefined): Headers {
  const h = new Headers(header);
  if (token) h.set("Authorization", `Bearer ${token}`);
  return h;
}

function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unauthenticated;
}

/** Wraps `inner` so every call carries the token of `tokens`. */
export function authTransport(inner: Transport, tokens: TokenSource): Transport {
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      if (isPublic(method)) {
        return inner.unary(method, signal, timeoutMs, header, input, contextValues);
      }
      const token = await tokens.get();
      try {
        return await inner.unary(
          method,
          signal,
          timeoutMs,
          withAuthorization(header, token),
          input,
          contextValues,
        );
      } catch (err) {
        if (!token || !isUnauthenticated(err)) throw err;
        tokens.reject(token);
        if (!tokens.refreshable) throw err;
        const fresh = await tokens.get();
        if (!fresh || fresh === token) throw err;
        return inner.unary(
          method,
          signal,
          timeoutMs,
          withAuthorization(header, fresh),
          input,
          contextValues,
        );
      }
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      if (isPublic(method)) {
        return inner.stream(method, signal, timeoutMs, header, input, contextValues);
      }
      const token = await tokens.get();
      try {
        const res = await inner.stream(
          method,
          signal,
          timeoutMs,
          withAuthorization(header, token),
          input,
          contextValues,
        );
        if (!token) return res;
        // A stream is refused while it is read (the first message): watch it.
        const message = res.message;
        return {
          ...res,
          message: (async function* () {
            try {
              yield* message;
            } catch (err) {
              if (isUnauthenticated(err)) tokens.reject(token);
              throw err;
            }
          })(),
        };
      } catch (err) {
        if (token && isUnauthenticated(err)) tokens.reject(token);
        throw err;
      }
    },
  };
}

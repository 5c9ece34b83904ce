/**
 * The browser transport: Connect protocol on the page's own origin (the
 * server serves the built client, Vite proxies RPC paths in development).
 * An interceptor adds the bearer token and reports Unauthenticated errors of
 * signed-in calls, which mean the token was revoked or expired.
 */
import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createWebTransport } from "@protochat/sdk/web";

/** Calls that work without a token; their Unauthenticated means bad credentials. */
const PUBLIC_METHODS = new Set(["chat.v1.AuthService/Register", "chat.v1.AuthService/Login"]);

export interface AuthHooks {
  /** The current token, read on every call. */
  token(): string | undefined;
  /** A signed-in call failed with Unauthenticated. */
  onUnauthenticated(err: ConnectError): void;
}

/** Adds `Authorization` and watches for revoked or expired tokens. */
export function authInterceptor(hooks: AuthHooks): Interceptor {
  return (next) => async (req) => {
    const name = `${req.service.typeName}/${req.method.name}`;
    const token = PUBLIC_METHODS.has(name) ? undefined : hooks.token();
    if (token) req.header.set("Authorization", `Bearer ${token}`);
    try {
      const res = await next(req);
      if (!res.stream || !token) return res;
      // Streams fail while being read: watch them too.
      const message = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* message;
          } catch (err) {
            const ce = ConnectError.from(err);
            if (ce.code === Code.Unauthenticated) hooks.onUnauthenticated(ce);
            throw err;
          }
        })(),
      };
    } catch (err) {
      const ce = ConnectError.from(err);
      if (token && ce.code === Code.Unauthenticated) hooks.onUnauthenticated(ce);
      throw err;
    }
  };
}

/**
 * The transport the app uses in the browser: the SDK's connect-web
 * transport, which reports lost connections as UNAVAILABLE.
 */
export function browserTransport(
  hooks: AuthHooks,
  baseUrl = globalThis.location.origin,
): Transport {
  return createWebTransport({ baseUrl, interceptors: [authInterceptor(hooks)] });
}

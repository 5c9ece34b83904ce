/** Transports and clients as tests use them: over HTTP/1.1, and carrying a token. */
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

/** A Connect-over-HTTP/1.1 transport (what browsers speak), optionally signed in. */
export function httpTransport(baseUrl: string, token?: string): Transport {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  return token ? withToken(transport, token) : transport;
}

/** A client of `service` that sends `token` on every call. */
export function authed<T extends DescService>(
  service: T,
  transport: Transport,
  token: string,
): Client<T> {
  return createClient(service, withToken(transport, token));
}

/** Wraps a transport so every call carries the bearer token. */
export function withToken(transport: Transport, token: string): Transport {
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${token}`);
      return transport.unary(method, signal, timeoutMs, h, input, contextValues);
    },
    stream: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${token}`);
      return transport.stream(method, signal, timeoutMs, h, input, contextValues);
    },
  };
}

/**
 * A transport that forwards every call to `current()`, looked up per call:
 * a file can name its transports at the top level, before the `beforeAll`
 * that creates them has run (see setupTestEnv in env.ts).
 */
export function forwardingTransport(current: () => Transport): Transport {
  return {
    unary: (...args) => current().unary(...args),
    stream: (...args) => current().stream(...args),
  };
}

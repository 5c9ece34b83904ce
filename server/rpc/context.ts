/**
 * Context values shared between interceptors and handlers. The auth
 * interceptor puts the authenticated caller here; handlers read it with
 * {@link callerOf} instead of parsing headers themselves.
 */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { AdminCaller } from "../domain/admin/api-keys.js";
import type { Caller } from "../domain/auth/caller.js";

export type { Caller } from "../domain/auth/caller.js";

/** Set by the auth interceptor on every RPC that requires a token. */
export const callerKey = createContextKey<Caller | undefined>(undefined, {
  description: "authenticated caller",
});

/**
 * The caller of an authenticated RPC. Throws `Internal` when the auth
 * interceptor did not run, which is a wiring bug, never a client error.
 */
export function callerOf(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(callerKey);
  if (!caller) {
    throw new ConnectError("caller missing on an authenticated procedure", Code.Internal);
  }
  return caller;
}

/** Set on every AdminService call by the admin interceptor (or the gate, before the body). */
export const adminCallerKey = createContextKey<AdminCaller | undefined>(undefined, {
  description: "authenticated operator (API key)",
});

/** The operator of an AdminService call; `Internal` when the admin interceptor did not run. */
export function adminCallerOf(ctx: HandlerContext): AdminCaller {
  const caller = ctx.values.get(adminCallerKey);
  if (!caller) {
    throw new ConnectError("API key missing on an admin procedure", Code.Internal);
  }
  return caller;
}

/** One call as the RPC gate sees it, shared with the interceptors through the context values. */
export interface RpcCall {
  procedure: string;
  protocol: "connect" | "grpc" | "grpc-web";
  kind: string;
  /** `performance.now()` when the request arrived. */
  started: number;
  /** The interceptors ran (so the logging interceptor writes the call's line). */
  intercepted: boolean;
  /** The gate wrote the call's line. */
  logged: boolean;
  /** "direct" when served by the direct unary path (rpc/direct/direct-unary.ts). */
  path?: "direct";
}

/** Set by the RPC gate on every call it routes. */
export const rpcCallKey = createContextKey<RpcCall | undefined>(undefined, {
  description: "call record of the RPC gate",
});

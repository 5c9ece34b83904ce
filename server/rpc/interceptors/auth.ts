/**
 * Authentication as an interceptor: every procedure except the public ones
 * needs `Authorization: Bearer <token>`. Handlers never see the header; they
 * read the caller from the context value set here.
 */
import { Code, type Interceptor } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { TokenService } from "../../domain/auth/tokens.js";
import { chatError } from "../../platform/errors.js";
import { type Caller, callerKey } from "../context.js";
import { isAdminService } from "./admin.js";

/** Procedures callable without a token, as `package.Service/Method`. */
export const publicProcedures: ReadonlySet<string> = new Set([
  "chat.v1.AuthService/Register",
  "chat.v1.AuthService/Login",
]);

/**
 * Services under `grpc.` (health, reflection) stay open: load balancers and
 * `buf curl`/`grpcurl` call them without credentials.
 */
export function isPublic(service: string, method: string): boolean {
  return service.startsWith("grpc.") || publicProcedures.has(`${service}/${method}`);
}

/**
 * The caller behind an `Authorization` header value, or Unauthenticated.
 * Also used by the direct Subscribe path, which runs without interceptors.
 */
export async function authenticate(
  tokens: TokenService,
  header: string | null | undefined,
): Promise<Caller> {
  if (!header) {
    throw chatError(
      Code.Unauthenticated,
      "missing access token: send 'Authorization: Bearer <token>' (get one with AuthService.Login)",
      ErrorReason.TOKEN_INVALID,
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const caller = match?.[1] ? await tokens.verify(match[1]) : undefined;
  if (!caller) {
    throw chatError(
      Code.Unauthenticated,
      "access token is invalid, expired or revoked: log in again",
      ErrorReason.TOKEN_INVALID,
    );
  }
  return caller;
}

/**
 * Creates the interceptor that authenticates every non-public RPC. A caller
 * already in the context values was authenticated from the same header by
 * the server before the body was read (server/rpc/gate.ts): the token is
 * verified once per call.
 */
export function authInterceptor(tokens: TokenService): Interceptor {
  return (next) => async (req) => {
    if (isPublic(req.service.typeName, req.method.name)) return next(req);
    // AdminService takes API keys, never user tokens (interceptors/admin.ts).
    if (isAdminService(req.service.typeName)) return next(req);
    if (req.contextValues.get(callerKey)) return next(req);
    const caller = await authenticate(tokens, req.header.get("authorization"));
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}

/**
 * AdminService's door: API keys only (never user access tokens), scopes
 * (a READ_ONLY key may only call methods marked NO_SIDE_EFFECTS), and the
 * audit log, where every admin call lands, allowed or refused. Calls over
 * the network are authenticated by the gate from their headers before their
 * body is read (rpc/gate.ts); the interceptor does it for the rest (in-memory
 * transports) and checks the scope and writes the audit record for all.
 */
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { AdminCaller, ApiKeys } from "../../domain/admin/api-keys.js";
import type { AuditLog } from "../../domain/admin/audit-log.js";
import { chatError } from "../../platform/errors.js";
import { adminCallerKey } from "../context.js";

/** Package of the admin API. */
const adminPackage = "chat.admin.";

/** Whether a service is part of the admin API (API keys, not user tokens). */
export function isAdminService(typeName: string): boolean {
  return typeName.startsWith(adminPackage);
}

/** The operator behind an `Authorization` header value, or Unauthenticated. */
export async function authenticateAdmin(
  keys: ApiKeys,
  header: string | null | undefined,
): Promise<AdminCaller> {
  if (!header) {
    throw chatError(
      Code.Unauthenticated,
      "missing API key: send 'Authorization: Bearer <key>' (create one with npm run admin -- keys create --name NAME)",
      ErrorReason.API_KEY_INVALID,
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const caller = match?.[1] ? await keys.verify(match[1]) : undefined;
  if (!caller) {
    throw chatError(
      Code.Unauthenticated,
      "API key is invalid or revoked (user access tokens are not accepted here)",
      ErrorReason.API_KEY_INVALID,
    );
  }
  return caller;
}

/** "PermissionDenied" -> "permission_denied": the audit log's result of a failed call. */
export function resultOf(err: unknown): string {
  if (err === undefined) return "ok";
  const name = Code[ConnectError.from(err).code] ?? "unknown";
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Fields of a request (or response) that name what an admin call acted on. */
const targetFields = [
  ["roomId", "room"],
  ["userId", "user"],
  ["messageId", "message"],
  ["webhookId", "webhook"],
] as const;

/** What a call acted on, e.g. "room:7", read from its request or else its response. */
export function targetOf(req: unknown, res?: unknown): string {
  const fromMessage = (m: unknown): string | undefined => {
    if (typeof m !== "object" || m === null) return undefined;
    const o = m as Record<string, unknown>;
    for (const [field, label] of targetFields) {
      const v = o[field];
      if (typeof v === "bigint" && v > 0n) return `${label}:${v}`;
    }
    const target = o.target as { case?: string; value?: unknown } | undefined;
    if (target?.case === "roomId" || target?.case === "userId") {
      return `${target.case === "roomId" ? "room" : "user"}:${String(target.value)}`;
    }
    if (target?.case === "rooms") {
      const ids = (target.value as { roomIds: bigint[] }).roomIds;
      return `rooms:${ids.join(",")}`;
    }
    if (target?.case === "allRooms") return "rooms:all";
    const room = o.room as { id?: unknown } | undefined;
    if (typeof room?.id === "bigint") return `room:${room.id}`;
    const webhook = o.webhook as { id?: unknown } | undefined;
    if (typeof webhook?.id === "bigint") return `webhook:${webhook.id}`;
    return undefined;
  };
  return fromMessage(req) ?? fromMessage(res) ?? "";
}

/** Writes one audit record; a failure to write is logged, never the caller's failure. */
export function auditCall(
  audit: AuditLog,
  logger: Logger,
  call: { caller?: AdminCaller; method: string; target: string; err?: unknown },
): Promise<void> {
  return audit
    .record({
      keyId: call.caller?.keyId ?? null,
      keyName: call.caller?.name ?? "",
      method: call.method,
      target: call.target,
      result: resultOf(call.err),
    })
    .catch((err: unknown) => {
      logger.error({ err, method: call.method }, "admin audit record not written");
    });
}

/** The interceptor described in the file comment; passes every other service through. */
export function adminInterceptor(keys: ApiKeys, audit: AuditLog, logger: Logger): Interceptor {
  return (next) => async (req) => {
    if (!isAdminService(req.service.typeName)) return next(req);
    const method = req.method.name;
    const requestMessage = req.stream ? undefined : req.message;
    let caller = req.contextValues.get(adminCallerKey);
    try {
      if (!caller) {
        caller = await authenticateAdmin(keys, req.header.get("authorization"));
        req.contextValues.set(adminCallerKey, caller);
      }
      const readOnly = req.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
      if (!readOnly && caller.scope !== "FULL") {
        throw chatError(
          Code.PermissionDenied,
          `the API key '${caller.name}' is read-only: ${method} needs a key with full scope`,
          ErrorReason.API_KEY_READ_ONLY,
        );
      }
      const res = await next(req);
      await auditCall(audit, logger, {
        caller,
        method,
        target: targetOf(requestMessage, res.stream ? undefined : res.message),
      });
      return res;
    } catch (err) {
      await auditCall(audit, logger, { caller, method, target: targetOf(requestMessage), err });
      throw err;
    }
  };
}

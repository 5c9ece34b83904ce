/**
 * Reading our errors. Every error the server returns is a ConnectError with
 * an exact code and a human message; most carry a google.rpc.ErrorInfo
 * whose `reason` names a chat.v1.ErrorReason (domain "chat.v1"), invalid
 * input carries a google.rpc.BadRequest naming each bad field, and "try
 * again later" carries a google.rpc.RetryInfo. {@link decodeError} turns all
 * of that into one plain object, so callers branch on the reason instead of
 * parsing messages.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromString, codeToString } from "@connectrpc/connect/protocol-connect";
import { ErrorReason, ErrorReasonSchema } from "./gen/chat/v1/errors_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";

/** Domain of the ErrorInfo details our server sends. */
export const errorDomain = "chat.v1";

/** One invalid field of a request (google.rpc.BadRequest). */
export interface FieldViolation {
  /** Path of the field, e.g. `text` or `positions[0].last_seq`. */
  field: string;
  /** What is wrong and what is expected. */
  description: string;
}

/** Everything an error says, decoded. */
export interface ChatErrorDetails {
  /** The status code. */
  code: Code;
  /** The code as written on the wire, e.g. `invalid_argument`. */
  codeName: string;
  /** The server's message, without the code prefix. */
  message: string;
  /**
   * The cause, from ErrorInfo.reason; `ErrorReason.UNSPECIFIED` when the
   * error has none (or names one this SDK version does not know).
   */
  reason: ErrorReason;
  /** ErrorInfo.reason as sent, e.g. `USERNAME_TAKEN`; undefined without ErrorInfo. */
  reasonName: string | undefined;
  /** ErrorInfo.domain ("chat.v1" for ours). */
  domain: string | undefined;
  /** ErrorInfo.metadata. */
  metadata: Record<string, string>;
  /** BadRequest field violations (empty unless the input was invalid). */
  fieldViolations: FieldViolation[];
  /** RetryInfo.retry_delay in milliseconds, when the server said when to retry. */
  retryDelayMs: number | undefined;
}

/** The ErrorReason for an ErrorInfo reason string (`TOKEN_INVALID` or the full enum name). */
export function errorReasonFromName(name: string): ErrorReason {
  const full = name.startsWith("ERROR_REASON_") ? name : `ERROR_REASON_${name}`;
  const value = ErrorReasonSchema.values.find((v) => v.name === full);
  return value ? (value.number as ErrorReason) : ErrorReason.UNSPECIFIED;
}

/** Decodes any thrown value (a ConnectError or not) into {@link ChatErrorDetails}. */
export function decodeError(err: unknown): ChatErrorDetails {
  const ce = ConnectError.from(err);
  const info = ce.findDetails(ErrorInfoSchema)[0];
  const badRequest = ce.findDetails(BadRequestSchema);
  const retry = ce.findDetails(RetryInfoSchema)[0];
  let retryDelayMs: number | undefined;
  if (retry?.retryDelay) {
    const d = retry.retryDelay;
    retryDelayMs = Math.max(0, Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6));
  }
  return {
    code: ce.code,
    codeName: codeToString(ce.code),
    message: ce.rawMessage,
    reason: info ? errorReasonFromName(info.reason) : ErrorReason.UNSPECIFIED,
    reasonName: info?.reason,
    domain: info?.domain,
    metadata: { ...(info?.metadata ?? {}) },
    fieldViolations: badRequest.flatMap((b) =>
      b.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
    ),
    retryDelayMs,
  };
}

/** Codes a repeated call may get past. */
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Canceled]);

/**
 * Whether a failed call may succeed if repeated unchanged: UNAVAILABLE
 * (server restarting, connection refused), DEADLINE_EXCEEDED, ABORTED and
 * CANCELED (how connect-node reports a connection lost mid-call, e.g. to a
 * server that crashed: "socket hang up" on HTTP/1.1, an HTTP/2 stream
 * reset with CANCEL; the call may or may not have been carried out), and
 * RESOURCE_EXHAUSTED when the server said when to retry (RetryInfo). Only
 * repeat calls that are idempotent (sends are, by their clientMsgId), and
 * not ones you cancelled yourself: withRetry checks its signal first.
 */
export function isTransient(err: unknown): boolean {
  const ce = ConnectError.from(err);
  if (TRANSIENT.has(ce.code)) return true;
  return ce.code === Code.ResourceExhausted && ce.findDetails(RetryInfoSchema).length > 0;
}

/**
 * A ConnectError for a command that failed on the Chat stream, where the
 * code travels as its wire name (`not_found`) next to the message, and the
 * details (ErrorInfo, BadRequest, RetryInfo) as google.protobuf.Any: the
 * same error a unary call would have thrown, so decodeError and retries
 * treat both alike.
 */
export function commandErrorToConnectError(
  code: string,
  message: string,
  details: readonly { typeUrl: string; value: Uint8Array }[] = [],
): ConnectError {
  const err = new ConnectError(message, codeFromString(code) ?? Code.Unknown);
  err.details = details.map((d) => ({
    type: d.typeUrl.slice(d.typeUrl.lastIndexOf("/") + 1),
    value: d.value,
  }));
  return err;
}

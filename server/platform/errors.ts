/**
 * Constructors for the errors our RPCs return. Every error is a ConnectError
 * with an exact Code, a message a human can act on, and a
 * google.rpc.ErrorInfo detail whose reason names a chat.v1.ErrorReason, so
 * SDK users branch on `reason` instead of parsing text.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ErrorReason, ErrorReasonSchema } from "../../gen/chat/v1/errors_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";

/** Domain of every ErrorInfo we send. */
export const errorDomain = "chat.v1";

/** One invalid field of a request, as in google.rpc.BadRequest. */
export interface FieldViolation {
  /** Path of the field, e.g. `username` or `members[2]`. */
  field: string;
  /** What is wrong and what is expected. */
  description: string;
}

/** The ErrorInfo reason string for an ErrorReason value. */
export function reasonName(reason: ErrorReason): string {
  const name = ErrorReasonSchema.values.find((v) => v.number === reason)?.name ?? "UNSPECIFIED";
  return name.replace(/^ERROR_REASON_/, "");
}

/** A ConnectError carrying an ErrorInfo detail with the given reason. */
export function chatError(
  code: Code,
  message: string,
  reason: ErrorReason,
  metadata: Record<string, string> = {},
): ConnectError {
  return new ConnectError(message, code, undefined, [
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: reasonName(reason), domain: errorDomain, metadata }),
    },
  ]);
}

/**
 * `InvalidArgument` listing every bad field in a google.rpc.BadRequest
 * detail. The message names the fields too, for clients that show only text.
 */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new ConnectError(`invalid request: ${summary}`, Code.InvalidArgument, undefined, [
    {
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: violations }),
    },
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: "INVALID_FIELDS", domain: errorDomain }),
    },
  ]);
}

/** A google.rpc.RetryInfo detail for a delay in milliseconds. */
function retryInfo(retryAfterMs: number) {
  const ms = Math.max(0, Math.round(retryAfterMs));
  return {
    desc: RetryInfoSchema,
    value: create(RetryInfoSchema, {
      retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
    }),
  };
}

/**
 * `Unavailable` for a transient fault: nothing was changed, and the client
 * may retry after `retryAfterMs` (RetryInfo), on this or another instance.
 */
export function unavailable(
  message: string,
  retryAfterMs: number,
  reason: ErrorReason,
): ConnectError {
  return new ConnectError(message, Code.Unavailable, undefined, [
    retryInfo(retryAfterMs),
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: reasonName(reason), domain: errorDomain }),
    },
  ]);
}

/**
 * An error of `code` with ErrorInfo (`reason`, `metadata`) and a RetryInfo
 * delay: refused until a known time (e.g. a mute), not for a fault.
 */
export function refusedUntil(
  code: Code,
  message: string,
  reason: ErrorReason,
  retryAfterMs: number,
  metadata: Record<string, string> = {},
): ConnectError {
  return new ConnectError(message, code, undefined, [
    retryInfo(retryAfterMs),
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: reasonName(reason), domain: errorDomain, metadata }),
    },
  ]);
}

/** `ResourceExhausted` with a RetryInfo detail telling when to try again. */
export function rateLimited(message: string, retryAfterMs: number): ConnectError {
  return new ConnectError(message, Code.ResourceExhausted, undefined, [
    retryInfo(retryAfterMs),
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: "RATE_LIMITED", domain: errorDomain }),
    },
  ]);
}

/**
 * What a failed call tells a client: its code, whether the server itself
 * answered with it (or the connection failed first), and how long the
 * server asked the client to wait (google.rpc.RetryInfo).
 *
 * The distinction matters for the checks: a connection that breaks because
 * an instance was killed is the fault itself, whatever code connect-node
 * gives it (`Internal` for "socket hang up", `Aborted` for ECONNRESET,
 * `Unavailable` for ECONNREFUSED); but an answer written by the server
 * during a dependency outage must be `Unavailable` (with RetryInfo), so
 * that a client that retries only what is safe to retry does retry it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** One failed call, as classified. */
export interface CallFailure {
  /** `Code` name ("Unavailable", ...). */
  code: string;
  message: string;
  /** The server answered with this error; false: the connection failed or the client gave up. */
  fromServer: boolean;
  /** The server's RetryInfo delay, if it sent one. */
  retryAfterMs?: number;
}

/**
 * Codes a server may answer while a dependency or a peer instance fails:
 * everything else (INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED to a reader that
 * keeps up, UNAUTHENTICATED for a valid token, ...) is counted as a bad code.
 */
const transientCodes = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Canceled]);

/** Classifies anything a call threw. */
export function classifyFailure(err: unknown): CallFailure {
  const ce = ConnectError.from(err);
  let fromServer = false;
  if (!hasNodeCause(ce)) {
    // Errors the server sent carry its response headers or trailers;
    // errors made up by the client (abort, deadline, protocol) carry none.
    for (const _ of ce.metadata.keys()) {
      fromServer = true;
      break;
    }
  }
  let retryAfterMs: number | undefined;
  for (const info of ce.findDetails(RetryInfoSchema)) {
    const d = info.retryDelay;
    if (d) retryAfterMs = Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
  }
  return {
    code: Code[ce.code] ?? String(ce.code),
    message: ce.rawMessage,
    fromServer,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/** True when a server-sent code is not one a transient fault may produce. */
export function isBadServerCode(f: CallFailure): boolean {
  if (!f.fromServer) return false;
  const code = Code[f.code as keyof typeof Code];
  return code === undefined || !transientCodes.has(code);
}

function hasNodeCause(err: ConnectError): boolean {
  for (let c: unknown = err.cause, depth = 0; c instanceof Error && depth < 10; depth++) {
    if (typeof (c as { code?: unknown }).code === "string") return true;
    c = (c as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Delay before retry `attempt` (0-based): the server's RetryInfo if it
 * sent one (plus up to 20% jitter), else exponential backoff with full
 * jitter: uniform in [0, min(capMs, baseMs * 2^attempt)).
 */
export function retryDelayMs(
  attempt: number,
  failure: CallFailure | undefined,
  random: () => number,
  baseMs = 100,
  capMs = 2_000,
): number {
  if (failure?.retryAfterMs !== undefined) {
    return failure.retryAfterMs * (1 + 0.2 * random());
  }
  return random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
}

/** Tallies failures: counts by "code (server|connection)", and the first examples. */
export class FailureLog {
  readonly counts: Record<string, number> = {};
  readonly badCounts: Record<string, number> = {};
  readonly examples: string[] = [];
  badTotal = 0;

  /** Records `f` seen by `who` at `what`; returns whether it is a bad code. */
  add(f: CallFailure, who: string, what: string): boolean {
    const key = `${what} ${f.code} (${f.fromServer ? "server" : "connection"})`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
    const bad = isBadServerCode(f);
    if (bad) {
      this.badTotal += 1;
      const badKey = `${what} ${f.code}: ${f.message.slice(0, 120)}`;
      this.badCounts[badKey] = (this.badCounts[badKey] ?? 0) + 1;
    }
    if ((bad || this.examples.length < 10) && this.examples.length < 40) {
      this.examples.push(
        `${new Date().toISOString()} ${who} ${what}: ${f.code}${f.fromServer ? " from server" : ""}: ${f.message.slice(0, 200)}`,
      );
    }
    return bad;
  }
}

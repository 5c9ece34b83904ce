/**
 * Sending a message safely: the SDK makes the clientMsgId once and repeats
 * the call with the same id while it fails transiently, so a send that was
 * stored but whose answer got lost is never stored twice (the server
 * returns the original, `duplicate: true`).
 */
import { newClientMsgId } from "./ids.js";
import { type RetryOptions, withRetry } from "./retry.js";

/** Options of a send. */
export interface SendOptions {
  /** Your own id for this message (1-64 of `A-Za-z0-9_-`); default: a random one. */
  clientMsgId?: string;
  /** The message this one replies to. */
  replyToId?: bigint;
  /** Uploads to attach (ChatClient.upload); the text may then be empty. */
  attachmentIds?: bigint[];
  /** The thread to reply in (its root message). */
  threadRootId?: bigint;
  /** Cancels the send, retries included (it fails with CANCELED). */
  signal?: AbortSignal;
  /** Bound on each attempt (ms, default 15 s): a hung attempt is retried. */
  timeoutMs?: number;
  /** Overrides some of the client's retry options for this send. */
  retry?: RetryOptions;
}

/** The request a send repeats. */
export interface SendAttempt {
  roomId: bigint;
  text: string;
  clientMsgId: string;
  replyToId: bigint;
  signal: AbortSignal | undefined;
  timeoutMs: number;
}

/** Default bound on one attempt of a retried call. */
export const defaultAttemptTimeoutMs = 15_000;

/**
 * Runs `attempt` with one clientMsgId until it succeeds or fails for good.
 * `onRetry` of the retry options sees every transient failure.
 */
export function sendWithRetry<T>(
  roomId: bigint,
  text: string,
  options: SendOptions,
  clientRetry: RetryOptions | undefined,
  attempt: (req: SendAttempt) => Promise<T>,
): Promise<T> {
  const req: SendAttempt = {
    roomId,
    text,
    clientMsgId: options.clientMsgId ?? newClientMsgId(),
    replyToId: options.replyToId ?? 0n,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? defaultAttemptTimeoutMs,
  };
  return withRetry(() => attempt(req), { ...clientRetry, ...options.retry }, options.signal);
}

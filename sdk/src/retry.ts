/**
 * Repeating a call that failed for a transient reason: exponential backoff
 * with full jitter, never sooner than the server's RetryInfo asks. Only for
 * calls that are safe to repeat (sends are, by their clientMsgId).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import { decodeError, isTransient } from "./errors.js";
import { sleep } from "./sleep.js";

/** How a call is retried. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 8). */
  maxAttempts?: number;
  /** Backoff between attempts (default 250 ms doubling up to 10 s). */
  backoff?: BackoffOptions;
  /** Which failures to retry (default {@link isTransient}). */
  retryable?: (err: ConnectError) => boolean;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Told before each wait. */
  onRetry?: (info: { attempt: number; delayMs: number; error: ConnectError }) => void;
}

/** The default backoff of retried calls. */
export const defaultRetryBackoff: BackoffOptions = { baseMs: 250, capMs: 10_000 };

/**
 * Calls `fn` until it succeeds, fails with a non-retryable error, runs out
 * of attempts, or `signal` aborts (then it fails with CANCELED). `fn` gets
 * the 0-based attempt number.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
  signal?: AbortSignal,
): Promise<T> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
  const retryable = opts.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new ConnectError("the call was canceled", Code.Canceled);
    try {
      return await fn(attempt);
    } catch (err) {
      const ce = ConnectError.from(err);
      if (signal?.aborted) throw new ConnectError("the call was canceled", Code.Canceled);
      if (attempt + 1 >= maxAttempts || !retryable(ce)) throw ce;
      const jittered = backoffDelay(attempt, opts.random, opts.backoff ?? defaultRetryBackoff);
      const delayMs = Math.max(jittered, decodeError(ce).retryDelayMs ?? 0);
      opts.onRetry?.({ attempt, delayMs, error: ce });
      await sleep(delayMs, signal).done;
    }
  }
}

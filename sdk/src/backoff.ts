/**
 * Retry delays: exponential backoff with full jitter. The ceiling doubles
 * from `baseMs` up to `capMs`; the delay is drawn uniformly below it, so a
 * restarted server is not hit by every client at the same moment.
 */

/** Bounds of the backoff. */
export interface BackoffOptions {
  /** Ceiling of the first retry (ms). */
  baseMs: number;
  /** Highest ceiling (ms). */
  capMs: number;
}

/** What the feed uses unless told otherwise: 0.5 s doubling up to 30 s. */
export const defaultBackoff: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** Ceiling for the given (0-based) attempt. */
export function backoffCeiling(attempt: number, opts: BackoffOptions = defaultBackoff): number {
  return Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
}

/** Delay before retry `attempt` (0-based), `random` in [0, 1). */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  opts: BackoffOptions = defaultBackoff,
): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}

/**
 * Reconnect delays: exponential backoff with full jitter. The ceiling
 * doubles from `baseMs` up to `capMs`; the delay is uniform below it, so a
 * restarted server is not hit by every client at the same moment.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** Ceiling for the given (0-based) attempt. */
export function backoffCeiling(attempt: number, opts: BackoffOptions = defaultBackoff): number {
  return Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
}

/** Delay before reconnect attempt `attempt` (0-based), `random` in [0, 1). */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  opts: BackoffOptions = defaultBackoff,
): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}

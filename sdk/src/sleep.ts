/**
 * A wait that ends early when its signal aborts or when someone wakes it
 * (e.g. "reconnect now"): backoff waits must never outlive a close().
 */

/** A pending wait and the way to cut it short. */
export interface Sleep {
  /** Resolves after the delay, on wake(), or when the signal aborts. */
  done: Promise<void>;
  /** Ends the wait now. */
  wake(): void;
}

/** Starts a wait of `ms`; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Sleep {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      resolve();
    };
    const timer = setTimeout(finish, Math.max(0, ms));
    signal?.addEventListener("abort", finish);
    if (signal?.aborted) finish();
    wake = finish;
  });
  return { done, wake: () => wake() };
}

/**
 * The two ways a load generator paces its calls (sends, fan-out
 * publishing):
 *
 * - open loop ({@link openLoop}): call k is due at start + k / rate and
 *   starts then, whatever happened to earlier calls, so a slow server shows
 *   as latency, not as a politely lower rate; past `maxInFlight` calls open,
 *   a due call is skipped and counted;
 * - closed loop ({@link closedLoop}): a fixed number of calls in flight,
 *   each started when the previous one of its worker ended.
 */

/** What an open loop did. */
export interface OpenLoopCounts {
  /** Calls due (started or skipped). */
  offered: number;
  /** Due while `maxInFlight` calls were open; never started. */
  skipped: number;
}

/**
 * Starts `call(k, dueAtMs, startedAtMs)` for k = 0, 1, ... at `rate` per
 * second for `durationMs` (at least one call), times in `performance.now()`
 * ms; resolves when every started call has settled (`call` must not throw).
 */
export async function openLoop(
  o: { rate: number; durationMs: number; maxInFlight: number },
  call: (k: number, dueAtMs: number, startedAtMs: number) => Promise<void>,
): Promise<OpenLoopCounts> {
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let offered = 0;
  let skipped = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * o.rate) / 1000) + 1);
      for (; offered < due; offered++) {
        if (inFlight.size >= o.maxInFlight) {
          skipped += 1;
          continue;
        }
        const p = call(offered, t0 + (offered * 1000) / o.rate, now).finally(() =>
          inFlight.delete(p),
        );
        inFlight.add(p);
      }
      if (offered >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, t0 + (offered * 1000) / o.rate - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  return { offered, skipped };
}

/**
 * Runs `concurrency` workers for `durationMs`; each calls `call(k)` with
 * the next k (0, 1, ...) when its previous call ended, and stops early when
 * a call resolves to false. Resolves with the calls started once every worker
 * stopped.
 */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  call: (k: number) => Promise<unknown>,
): Promise<number> {
  const end = performance.now() + durationMs;
  let next = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if ((await call(next++)) === false) return;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return next;
}

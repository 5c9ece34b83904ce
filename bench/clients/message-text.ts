/**
 * The benchmark's message text: it starts with the wall-clock time of the
 * send in milliseconds (high resolution), so any subscriber can compute
 * the delivery latency from the message alone, and is padded to a fixed
 * size. Publisher and subscribers share one process and clock.
 */

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Text of `size` bytes carrying `sentAtMs`. */
export function messageText(sentAtMs: number, size: number): string {
  const head = `${sentAtMs.toFixed(3)} fanout `;
  return head.length >= size ? head : head + "x".repeat(size - head.length);
}

/** The send time carried by a benchmark message, NaN for any other text. */
export function sentAt(text: string): number {
  return Number.parseFloat(text);
}

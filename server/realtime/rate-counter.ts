/**
 * Events per second over a sliding window of whole seconds: a ring of
 * per-second buckets, so counting is one addition and reading is a sum of
 * at most `windowSeconds` numbers (AdminService.GetStats).
 */

/** Counts events and reports their rate over the last `windowSeconds`. */
export class RateCounter {
  private readonly buckets: number[];
  private readonly seconds: number[];
  /** Every event ever counted. */
  total = 0;

  constructor(
    private readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array(windowSeconds).fill(0);
    this.seconds = new Array(windowSeconds).fill(-1);
  }

  /** Counts `n` events now. */
  add(n = 1): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.windowSeconds;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i] = (this.buckets[i] ?? 0) + n;
    this.total += n;
  }

  /** Events per second over the last full window (the current second included). */
  perSecond(): number {
    const second = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i += 1) {
      const s = this.seconds[i] ?? -1;
      if (s > second - this.windowSeconds && s <= second) sum += this.buckets[i] ?? 0;
    }
    return sum / this.windowSeconds;
  }
}

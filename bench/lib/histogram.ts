/**
 * A latency histogram with logarithmic buckets (1% wide, from 1 µs to
 * about 17 minutes): constant memory however many samples, percentiles
 * within 1%.
 */

const MIN_MS = 0.001;
const GROWTH = 1.01;
const BUCKETS = Math.ceil(Math.log(1e6 / MIN_MS) / Math.log(GROWTH)) + 1;
const LOG_GROWTH = Math.log(GROWTH);

/** Percentiles and extremes of a histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Records durations in milliseconds. */
export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /** Adds one sample (negative values, from clock jitter, count as 0; NaN is ignored). */
  record(ms: number): void {
    if (Number.isNaN(ms)) return;
    const v = Math.max(ms, MIN_MS);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(v / MIN_MS) / LOG_GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count += 1;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The value below which a fraction `q` (0..1) of the samples lie. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      // The bucket's geometric middle; never above the largest sample.
      if (seen >= rank) return Math.min(this.max, MIN_MS * GROWTH ** (i + 0.5));
    }
    return this.max;
  }

  /** Count, mean, p50/p95/p99/p99.9 and max. */
  summary(): LatencySummary {
    return {
      count: this.count,
      mean: this.count ? this.sum / this.count : Number.NaN,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count ? this.max : Number.NaN,
    };
  }
}

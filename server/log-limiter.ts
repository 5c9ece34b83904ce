/**
 * Keeps any one kind of log line from flooding the logs. Every failed call
 * leaves a line, but a client that fails calls on purpose (garbage bodies,
 * bad tokens, thousands per second) must not turn the log into its
 * amplifier: past a burst, lines of the same kind are counted instead of
 * written, and one summary line per interval says how many were dropped.
 */
import type { Logger } from "pino";

/** Budget per kind of line. */
export interface LogLimiterOptions {
  /** Lines of one kind written back to back before limiting starts. */
  burst: number;
  /** Lines of one kind per second once the burst is spent. */
  perSecond: number;
  /** Kinds tracked at once; beyond, the least recent is forgotten. */
  maxKinds: number;
}

export const defaultLogLimiterOptions: LogLimiterOptions = {
  burst: 50,
  perSecond: 20,
  maxKinds: 1_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per kind of line, and a summary of what was dropped. */
export class LogLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly dropped = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly options: LogLimiterOptions;

  constructor(
    private readonly logger: Logger,
    options: Partial<LogLimiterOptions> = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.options = { ...defaultLogLimiterOptions, ...options };
  }

  /** True when a line of `kind` may be written now; otherwise it is counted. */
  allow(kind: string): boolean {
    const t = this.now();
    let b = this.buckets.get(kind);
    if (b) {
      // Re-inserted: the Map's order is least-recently-used first.
      this.buckets.delete(kind);
      b.tokens = Math.min(
        this.options.burst,
        b.tokens + ((t - b.at) / 1000) * this.options.perSecond,
      );
      b.at = t;
    } else {
      b = { tokens: this.options.burst, at: t };
      if (this.buckets.size >= this.options.maxKinds) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    }
    this.buckets.set(kind, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    this.dropped.set(kind, (this.dropped.get(kind) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), 1_000);
    this.timer.unref?.();
    return false;
  }

  /** Writes one summary of the lines dropped since the last one. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dropped.size === 0) return;
    const dropped = Object.fromEntries([...this.dropped].slice(0, 50));
    const total = [...this.dropped.values()].reduce((a, b) => a + b, 0);
    this.dropped.clear();
    this.logger.warn({ dropped, total }, "log lines dropped (rate limited)");
  }
}

const limiters = new WeakMap<Logger, LogLimiter>();

/** The limiter shared by everything logging through `logger`. */
export function limiterFor(logger: Logger): LogLimiter {
  let l = limiters.get(logger);
  if (!l) {
    l = new LogLimiter(logger);
    limiters.set(logger, l);
  }
  return l;
}

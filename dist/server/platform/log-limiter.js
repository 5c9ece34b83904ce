import { tuning } from "../config.js";
/** From config.ts (tuning.logLimiter). */
export const defaultLogLimiterOptions = tuning.logLimiter;
/** A token bucket per kind of line, and a summary of what was dropped. */
export class LogLimiter {
    logger;
    now;
    buckets = new Map();
    dropped = new Map();
    timer;
    options;
    constructor(logger, options = {}, now = () => performance.now()) {
        this.logger = logger;
        this.now = now;
        this.options = { ...defaultLogLimiterOptions, ...options };
    }
    /** True when a line of `kind` may be written now; otherwise it is counted. */
    allow(kind) {
        const t = this.now();
        let b = this.buckets.get(kind);
        if (b) {
            // Re-inserted: the Map's order is least-recently-used first.
            this.buckets.delete(kind);
            b.tokens = Math.min(this.options.burst, b.tokens + ((t - b.at) / 1000) * this.options.perSecond);
            b.at = t;
        }
        else {
            b = { tokens: this.options.burst, at: t };
            if (this.buckets.size >= this.options.maxKinds) {
                const oldest = this.buckets.keys().next();
                if (!oldest.done)
                    this.buckets.delete(oldest.value);
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
    flush() {
        clearTimeout(this.timer);
        this.timer = undefined;
        if (this.dropped.size === 0)
            return;
        const dropped = Object.fromEntries([...this.dropped].slice(0, 50));
        const total = [...this.dropped.values()].reduce((a, b) => a + b, 0);
        this.dropped.clear();
        this.logger.warn({ dropped, total }, "log lines dropped (rate limited)");
    }
}
const limiters = new WeakMap();
/** The limiter shared by everything logging through `logger`. */
export function limiterFor(logger) {
    let l = limiters.get(logger);
    if (!l) {
        l = new LogLimiter(logger);
        limiters.set(logger, l);
    }
    return l;
}
//# sourceMappingURL=log-limiter.js.map
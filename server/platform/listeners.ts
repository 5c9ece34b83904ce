/** A set of callbacks told about changes, none of which can break the others. */
import type { Logger } from "pino";

/** Listeners of one kind of change. */
export class Listeners<T> {
  private readonly fns = new Set<(value: T) => void>();

  constructor(
    private readonly logger: Pick<Logger, "error">,
    /** Named in the log line when a listener throws. */
    private readonly what: string,
  ) {}

  /** Adds `fn`; returns the function that removes it. */
  add(fn: (value: T) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  /** Calls every listener; one that throws is logged and the rest still run. */
  emit(value: T): void {
    for (const fn of this.fns) {
      try {
        fn(value);
      } catch (err) {
        this.logger.error({ err }, `${this.what} listener failed`);
      }
    }
  }
}

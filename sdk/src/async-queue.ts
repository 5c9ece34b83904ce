/**
 * A single-reader async queue: producers push, one consumer iterates.
 * Ending it with an error makes the reader throw after the queued items;
 * a reader that stops early (return) ends it.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  private ended: { error?: unknown } | undefined;

  /** Items waiting to be read. */
  get size(): number {
    return this.items.length;
  }

  /** Whether the queue was ended (by either side). */
  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** Adds an item; ignored once ended. */
  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake?.();
  }

  /** Ends the queue: the reader gets what is queued, then `error` (or the end). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = error === undefined ? {} : { error };
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        const next = this.items.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.ended) {
          if ("error" in this.ended) throw this.ended.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      // The reader is gone: nothing pushed from now on will be read.
      this.ended ??= {};
      this.items = [];
    }
  }
}

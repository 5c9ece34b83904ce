/**
 * The check every stream of the benchmarks makes on its room events (the
 * fan-out's subscribers, subscriber.ts; the feed scenarios' streams,
 * feed-stream.ts): a room's events carry a dense sequence, so a stream
 * that gets every event exactly once, in order, sees the next expected
 * sequence each time; anything lower is a duplicate (or arrived out of
 * order), anything higher skips some (a gap).
 */
export class SequenceTally {
  /** Events whose sequence was already seen (or that arrived out of order). */
  duplicates = 0;
  /** Sequence numbers skipped. */
  gaps = 0;
  /** Room events of a room the stream does not follow. */
  foreign = 0;
  /** Events the check does not count: presence, room stats, heartbeats, ... */
  otherEvents = 0;

  /**
   * Event `seq` arrived where `next` was expected: the sequence expected
   * after it, or undefined when it is not new (a duplicate). Counts gaps.
   */
  protected advance(next: bigint, seq: bigint): bigint | undefined {
    if (seq < next) {
      this.duplicates += 1;
      return undefined;
    }
    if (seq > next) this.gaps += Number(seq - next);
    return seq + 1n;
  }
}

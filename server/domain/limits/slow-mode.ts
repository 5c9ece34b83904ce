/**
 * Slow mode: in a room with `slow_mode_seconds` > 0, a member (not an owner
 * or admin) may send one message per that many seconds. The clock is the
 * membership's `last_sent_at`, read and moved under the room's lock in the
 * send batch (domain/send/send-batch.ts), so it holds exactly across
 * instances, with or without Redis.
 */
import { rateLimited } from "../../platform/errors.js";
import { retryText } from "./rate-limits.js";

/**
 * Throws RESOURCE_EXHAUSTED (RATE_LIMITED, RetryInfo) when a message sent
 * at `now` comes sooner than `seconds` after `last`.
 */
export function slowModeWait(seconds: number, last: Date | null, now: Date): void {
  if (!last) return;
  const waitMs = last.getTime() + seconds * 1000 - now.getTime();
  if (waitMs > 0) {
    throw rateLimited(
      `slow mode: one message per ${seconds} s in this room; try again in ${retryText(waitMs)}`,
      waitMs,
    );
  }
}

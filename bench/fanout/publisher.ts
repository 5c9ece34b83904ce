/**
 * The publisher: messages round-robin over the rooms, either at a fixed
 * rate (open loop: sends are started on schedule whether or not earlier
 * ones completed, so a slow server shows as latency, not as a lower rate)
 * or saturating (a fixed number of sends in flight, each started when the
 * previous completes, optionally held back while subscribers lag). How a
 * message is sent is the caller's: SendMessage on our server, a `publish`
 * with acknowledgement on a peer server (bench/peers/).
 */
import { messageText, nowMs } from "../clients/message-text.js";
import { Histogram } from "../lib/histogram.js";
import { closedLoop, openLoop } from "../lib/schedule.js";
import type { DeliveryTracker } from "./delivery-tracker.js";

/** Fixed rate: at most this many sends in flight; beyond, sends are skipped. */
const maxInFlight = 1_000;

/** What to publish, and how. */
export interface PublishPlan {
  rooms: bigint[];
  durationMs: number;
  size: number;
  /**
   * Sends message number `i` (0, 1, ...) with `text` to `roomId`; resolves
   * when the server acknowledged it (it will be delivered), rejects when
   * it was refused.
   */
  send(roomId: bigint, text: string, i: number): Promise<void>;
}

/** What happened while publishing. */
export class PublishStats {
  /** Acknowledged sends per room. */
  readonly sentPerRoom = new Map<bigint, number>();
  sent = 0;
  errors = 0;
  firstError: string | undefined;
  skipped = 0;
  /** Wall-clock ms of the first send and of the last one started. */
  firstSendAt = Number.NaN;
  lastSendAt = Number.NaN;
  readonly roundTrip = new Histogram();
}

/** Sends one message; counts it. */
async function sendOne(plan: PublishPlan, stats: PublishStats, i: number): Promise<void> {
  const roomId = plan.rooms[i % plan.rooms.length] ?? 0n;
  const at = nowMs();
  if (Number.isNaN(stats.firstSendAt)) stats.firstSendAt = at;
  stats.lastSendAt = at;
  try {
    await plan.send(roomId, messageText(at, plan.size), i);
    stats.roundTrip.record(nowMs() - at);
    stats.sent += 1;
    stats.sentPerRoom.set(roomId, (stats.sentPerRoom.get(roomId) ?? 0) + 1);
  } catch (err) {
    stats.errors += 1;
    stats.firstError ??= String(err);
  }
}

/** Sends `rate` messages per second for the duration; resolves when all completed. */
export async function publishAtRate(plan: PublishPlan, rate: number): Promise<PublishStats> {
  const stats = new PublishStats();
  const { skipped } = await openLoop({ rate, durationMs: plan.durationMs, maxInFlight }, (i) =>
    sendOne(plan, stats, i),
  );
  stats.skipped = skipped;
  return stats;
}

/**
 * Keeps `concurrency` sends in flight for the duration. With `maxLag` > 0
 * a sender waits while its room has `maxLag` messages not yet received by
 * every subscriber; no progress for `stallMs` ends publishing with an error.
 */
export async function publishSaturated(
  plan: PublishPlan,
  concurrency: number,
  tracker: DeliveryTracker,
  maxLag: number,
  stallMs: number,
): Promise<PublishStats> {
  const stats = new PublishStats();
  const end = performance.now() + plan.durationMs;
  let stalled = false;
  await closedLoop(concurrency, plan.durationMs, async (i) => {
    if (stalled) return false;
    const roomId = plan.rooms[i % plan.rooms.length] ?? 0n;
    while (
      maxLag > 0 &&
      (stats.sentPerRoom.get(roomId) ?? 0) - tracker.complete(roomId) >= maxLag
    ) {
      if (stalled || performance.now() >= end) return false;
      if (!(await tracker.nextProgress(stallMs))) {
        stalled = true;
        stats.firstError ??= `no delivery progress for ${stallMs} ms: publishing stopped`;
        stats.errors += 1;
        return false;
      }
    }
    await sendOne(plan, stats, i);
  });
  return stats;
}

/**
 * A stalled consumer: a subscriber that stops reading (holds its iterator,
 * never calls next) is cut off with ResourceExhausted once its queue
 * (queueLimit) overflows, and it never holds up the room: another
 * subscriber of the same room, on the same instance, gets every event in
 * order, promptly. In memory (the transport pulls, so a stalled reader
 * stalls the handler at once) and over the real server with gRPC over
 * HTTP/2 (flow control stalls the handler once the windows are full).
 *
 * The scenario runs in a child process (scenarios.ts): a server stuck
 * in a loop then fails this test by timeout instead of freezing the runner.
 */
import { expect, describe as group, it } from "vitest";
import { setupTestEnv } from "../support/fixture.js";
import { runScenario } from "./run-scenario.js";
import type { StallReport } from "./scenarios.js";

const QUEUE_LIMIT = 20;
const COUNT = 100;

const { env } = setupTestEnv({ redis: true, instances: 0 });

const stall = (scenario: string) =>
  runScenario<StallReport>(env, scenario, [String(QUEUE_LIMIT), String(COUNT)], 40_000);

const consecutive = (seqs: string[], first: number) => seqs.map((_, i) => String(first + i));

function judge(r: StallReport): void {
  const summary = JSON.stringify({
    ...r,
    healthy: `${r.healthy.length} events ${r.healthy[0]}..${r.healthy.at(-1)}`,
    stalled: `${r.stalled.length} events ${r.stalled[0]}..${r.stalled.at(-1)}`,
    resumed: `${r.resumed.length} events ${r.resumed[0]}..${r.resumed.at(-1)}`,
  });

  // The healthy reader: all 100, in order (seq 1 is the room's creation).
  expect(r.healthyEnd, summary).toBe("ok");
  expect(r.healthy, summary).toEqual(consecutive(r.healthy, 2));
  expect(r.healthy, summary).toHaveLength(COUNT);
  // ... promptly: its last event came soon after the last send.
  expect(r.healthyLagMs, summary).toBeLessThan(2_000);
  // The stalled reader: what the transport still held, in order, then
  // ResourceExhausted; nowhere near everything.
  expect(r.stalledEnd, summary).toBe("ResourceExhausted");
  expect(r.stalled, summary).toEqual(consecutive(r.stalled, 2));
  expect(r.stalled.length, summary).toBeLessThan(COUNT);
  // Resuming from its last seq gives exactly the rest (more events than
  // queueLimit: the replay must be paced by the reader, not cut).
  expect(r.resumedEnd, summary).toBe("ok");
  const from = 2 + r.stalled.length;
  expect(r.resumed, summary).toEqual(consecutive(r.resumed, from));
  expect(r.resumed.at(-1), summary).toBe(String(COUNT + 1));
}

group.concurrent("stalled consumer", () => {
  it("in memory: the stalled feed is cut with ResourceExhausted, the other gets all 100 in order", async () => {
    const r = await stall("stall-memory");
    judge(r);
    // In memory nothing is buffered beyond what the handler yields.
    expect(r.stalled.length, JSON.stringify(r.stalled)).toBeLessThanOrEqual(QUEUE_LIMIT);
  }, 45_000);

  it("real server: a stalled gRPC (HTTP/2) reader is cut; a Connect HTTP/1.1 reader gets all 100", async () => {
    judge(await stall("stall-grpc"));
  }, 45_000);
});

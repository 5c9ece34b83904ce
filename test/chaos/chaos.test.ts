/**
 * The short chaos run (bench/chaos/, `npm run chaos -- --short`): two
 * server instances in their own processes on a private MariaDB and Redis,
 * subscribers over gRPC and Connect that drop and resume, senders that
 * retry, and every fault once, a few seconds each: SIGKILL of an instance,
 * of Redis and of MariaDB, SIGTERM of an instance, SIGSTOP of an instance,
 * and an instance restarted while Redis is down. Then the database and
 * every client's view are checked: nothing lost, stored or delivered
 * twice, reordered, or stuck; nothing that differs from the database; no
 * error code a retrying client could not act on.
 *
 * Back-to-live times are printed, not asserted: a test never fails on
 * timing alone.
 */
import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { chaosOptions } from "../../bench/chaos/options.js";
import { formatResult, problemsOf, summaryLine } from "../../bench/chaos/report.js";
import { runChaos } from "../../bench/chaos/run-chaos.js";

describe("chaos, short", () => {
  it("loses, doubles, reorders and strands nothing through every fault", async () => {
    const options = chaosOptions();
    const lines: string[] = [];
    const result = await runChaos(options, (line) => lines.push(line));
    const summary = summaryLine(result);
    const problems = problemsOf(result);
    const clean = problems.length === 0;
    process.stdout.write(`${summary}\n`);
    if (!clean) process.stdout.write(`${formatResult(result)}\n${lines.join("\n")}\n`);
    expect(result.anomalies, `${summary}\n${problems.join("\n")}\nlogs: ${result.logDir}`).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      stuck: 0,
      wrong: 0,
      badCodes: 0,
    });
    // Every fault ran; a dependency outage reaches every subscriber.
    expect(result.faults.map((f) => f.name)).toEqual(options.faults);
    for (const f of result.faults) {
      if (!f.target) expect(f.backToLive.measured, f.name).toBeGreaterThan(0);
    }
    await rm(result.logDir, { recursive: true, force: true });
  }, 240_000);
});

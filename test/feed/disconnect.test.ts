/**
 * A client that goes away in the middle of a replay, while live events of
 * the room are held behind it, must not disturb the instance. Run in a
 * child process (scenarios.ts, "replay-abort"): a server that spins there
 * fails this test by timeout instead of freezing the runner.
 */
import { expect, it } from "vitest";
import { setupTestEnv } from "../support/fixture.js";
import { runScenario } from "./run-scenario.js";
import type { ReplayAbortReport } from "./scenarios.js";

const { env } = setupTestEnv({ redis: true, instances: 0 });

it("a disconnect during a replay with a held live event leaves the instance working", async () => {
  const r = await runScenario<ReplayAbortReport>(env, "replay-abort", [], 25_000);
  expect(r.after).toEqual([expect.stringMatching(/:8:messageCreated:after the disconnect$/)]);
  expect(r.lagMs).toBeLessThan(2_000);
}, 30_000);

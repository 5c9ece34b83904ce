/** Runs a scenario of scenarios.ts in a child process against an env's database and Redis. */
import type { TestEnv } from "../support/env.js";
import { runForJson } from "../support/processes.js";

/**
 * Resolves with the scenario's JSON report. A child that does not finish
 * within `ms` is killed: the server it runs is stuck.
 */
export function runScenario<T>(
  env: TestEnv,
  scenario: string,
  args: string[],
  ms: number,
): Promise<T> {
  return runForJson<T>(
    `scenario ${scenario}`,
    [
      "--import",
      "tsx",
      "test/feed/scenarios.ts",
      scenario,
      env.databaseUrl,
      `${env.redisPrefix}${scenario}:`,
      ...args,
    ],
    ms,
    ": the server in it is stuck (no feed must ever block its instance)",
  );
}

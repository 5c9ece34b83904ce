/**
 * `npm run chaos -- [options]`: one chaos run (bench/chaos/run-chaos.ts),
 * its summary line on stdout, its record appended to
 * bench/results/chaos.jsonl, exit code 1 on any anomaly. Ctrl-C cleans up
 * (clients, instances, the private MariaDB and Redis) and exits 130.
 */
import { rm } from "node:fs/promises";
import { Cleanup } from "../lib/cleanup.js";
import { machineInfo } from "../lib/machine.js";
import { repoRoot } from "../lib/server-process.js";
import { chaosUsage, parseChaosOptions } from "./options.js";
import { formatResult, makeChaosRecord, saveChaosRecord } from "./report.js";
import { runChaos } from "./run-chaos.js";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${chaosUsage}\n`);
    return;
  }
  const options = parseChaosOptions(argv);
  const machine = machineInfo(repoRoot);
  const cleanup = new Cleanup();
  const removeHandlers = cleanup.onSignals();
  try {
    const result = await runChaos(
      options,
      (line) => process.stderr.write(`[chaos] ${line}\n`),
      cleanup,
    );
    const record = makeChaosRecord(machine, options, result);
    process.stdout.write(`\n${formatResult(result)}\n`);
    for (const p of record.problems) process.stdout.write(`problem: ${p}\n`);
    if (options.save) process.stderr.write(`[chaos] appended to ${saveChaosRecord(record)}\n`);
    if (record.ok && !options.keepLogs) await rm(result.logDir, { recursive: true, force: true });
    else process.stderr.write(`[chaos] logs kept in ${result.logDir}\n`);
    process.stdout.write(`\n${record.summary}\n`);
    if (!record.ok) process.exitCode = 1;
  } finally {
    removeHandlers();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});

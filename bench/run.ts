/**
 * Benchmarks of the chat server: `npm run bench -- <name> [options]`. One
 * folder per scenario, each an orchestrator on the shared harness
 * (lib/harness.ts) with its options (options.ts) and, where it has one, a
 * load generator process (loadgen.ts):
 *
 *   fanout    one room (or a few), many Subscribe streams: deliveries/s,
 *             latency, CPU per delivery, memory per stream; peers alike
 *   sends     persisted messages/s across many rooms, into one hot room
 *             and one at a time, checked against the database
 *   storm     many Subscribe calls at once: time to `ready`
 *   resume    many feeds reconnect at once from their last sequence and
 *             catch up
 *   hold      as many idle feeds as asked: memory per stream, failure
 *             point
 *   hostile   connections without a token that never finish: server RSS,
 *             time until closed
 *   search    message search over a million messages: latency, cost per send
 *   files     upload throughput (MB/s), sends with attachments under fan-out
 *   attacks   the abuse of issue 13 replayed with limits off and on
 *   profile   summarize a server .cpuprofile (lib/cpu-profile.ts)
 *
 * `npm run chaos` (chaos/main.ts) is the fault-injection run.
 */

import { attacksUsage, parseAttacksOptions } from "./attacks/options.js";
import { runAttacks } from "./attacks/orchestrator.js";
import { fanoutUsage, parseFanoutOptions } from "./fanout/options.js";
import { runFanout } from "./fanout/orchestrator.js";
import { filesUsage, parseFilesOptions } from "./files/options.js";
import { runFiles } from "./files/orchestrator.js";
import { holdUsage, parseHoldOptions } from "./hold/options.js";
import { runHold } from "./hold/orchestrator.js";
import { hostileUsage, parseHostileOptions } from "./hostile/options.js";
import { runHostile } from "./hostile/orchestrator.js";
import { profileCommand } from "./lib/cpu-profile.js";
import { parseResumeOptions, resumeUsage } from "./resume/options.js";
import { runResume } from "./resume/orchestrator.js";
import { parseSearchOptions, searchUsage } from "./search/options.js";
import { runSearch } from "./search/orchestrator.js";
import { parseSendsOptions, sendsUsage } from "./sends/options.js";
import { runSends } from "./sends/orchestrator.js";
import { parseStormOptions, stormUsage } from "./storm/options.js";
import { runStorm } from "./storm/orchestrator.js";

const usage = `usage: npm run bench -- <benchmark> [options]   (--help after a name for its options)

benchmarks:
  fanout    fan-out of room messages to many Subscribe streams, and the same on peer servers
  sends     persisted messages/s: many rooms, one hot room, one at a time; checked in the database
  storm     many Subscribe calls at once: success rate, time to ready
  resume    many feeds reconnect at once and catch up: no gap, no duplicate
  hold      many idle feed streams on one server: memory per stream, failure point
  hostile   slow bodies, idle sessions, streams without a token: server RSS, time until closed
  search    message search latency over many messages, and the cost its tokens add to a send
  files     upload MB/s, and sends with attachments under fan-out
  attacks   the abuse measured in issue 13, with rate limits off and on: what each attack achieves
  profile   summarize a .cpuprofile: profile <file> [--from-us N --to-us N] [--top N]`;

/** A benchmark: its usage, its option parser and its runner. */
interface Benchmark<O> {
  usage: string;
  parse(argv: string[]): O;
  run(options: O): Promise<unknown>;
}

function benchmark<O>(
  usage: string,
  parse: (argv: string[]) => O,
  run: (o: O) => Promise<unknown>,
) {
  return { usage, parse, run } as Benchmark<unknown>;
}

const benchmarks: Record<string, Benchmark<unknown>> = {
  fanout: benchmark(fanoutUsage, parseFanoutOptions, runFanout),
  sends: benchmark(sendsUsage, parseSendsOptions, runSends),
  storm: benchmark(stormUsage, parseStormOptions, runStorm),
  resume: benchmark(resumeUsage, parseResumeOptions, runResume),
  hold: benchmark(holdUsage, parseHoldOptions, runHold),
  hostile: benchmark(hostileUsage, parseHostileOptions, runHostile),
  search: benchmark(searchUsage, parseSearchOptions, runSearch),
  files: benchmark(filesUsage, parseFilesOptions, runFiles),
  attacks: benchmark(attacksUsage, parseAttacksOptions, runAttacks),
};

async function main(argv: string[]): Promise<void> {
  const [name = "", ...rest] = argv;
  const bench = benchmarks[name];
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${bench?.usage ?? usage}\n`);
    return;
  }
  if (bench) {
    let options: unknown;
    try {
      options = bench.parse(rest);
    } catch (err) {
      // Bad options: the message (with the usage), no stack.
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    await bench.run(options);
    return;
  }
  if (name === "profile") {
    profileCommand(rest);
    return;
  }
  process.stderr.write(`${usage}\n`);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});

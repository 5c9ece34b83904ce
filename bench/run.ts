/**
 * Benchmarks of the chat server: `npm run bench -- <name> [options]`.
 *
 *   fanout    one room (or a few), many Subscribe streams: deliveries/s,
 *             latency, CPU per delivery, memory per stream (bench/fanout.ts)
 *   profile   summarize a server .cpuprofile (bench/cpu-profile.ts)
 */
import { profileCommand } from "./cpu-profile.js";
import { runFanout } from "./fanout.js";
import { fanoutUsage, parseFanoutOptions } from "./fanout-options.js";

const usage = `usage: npm run bench -- <benchmark> [options]

benchmarks:
  fanout    fan-out of room messages to many Subscribe streams
  profile   summarize a .cpuprofile: profile <file> [--from-us N --to-us N] [--top N]

${fanoutUsage}`;

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${name === "fanout" ? fanoutUsage : usage}\n`);
    return;
  }
  switch (name) {
    case "fanout":
      await runFanout(parseFanoutOptions(rest));
      return;
    case "profile":
      profileCommand(rest);
      return;
    default:
      process.stderr.write(`${usage}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});

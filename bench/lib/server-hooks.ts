/**
 * Preloaded into the benchmarked server (`--import`, with `--expose-gc`);
 * the server's own code is unchanged. Two hooks:
 *
 * - Memory probe: on SIGUSR2, a full GC, then one stderr line
 *   `<memoryMarker>{"rss":…,"heapUsed":…,…}`, so memory per stream is read
 *   after garbage from opening the streams is gone, not before; with the
 *   event-loop delay (p50, p99, max, ms) since the previous probe.
 * - Watchdog: ends the server with SIGTERM when the benchmark process that
 *   started it is gone (e.g. killed with SIGKILL before it could clean up),
 *   so no server outlives a run. One unreferenced timer per second.
 *   (`process.ppid` is fixed at start in Node 20: the live parent is read
 *   from /proc.)
 */
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

/** Prefix of the memory probe's output line. */
export const memoryMarker = "@@bench-memory ";

// Event-loop delay since the previous probe (read before the probe's GC):
// how long ready work waited for the loop, e.g. an ack behind a fan-out.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

process.on("SIGUSR2", () => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const delay = {
    p50: ms(loopDelay.percentile(50)),
    p99: ms(loopDelay.percentile(99)),
    max: ms(loopDelay.max),
  };
  loopDelay.reset();
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stderr.write(
    `${memoryMarker}${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, loopDelayMs: delay })}\n`,
  );
});

/** The current parent pid, from /proc/self/stat (field 4). */
function parentPid(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

const parent = parentPid();
setInterval(() => {
  if (parentPid() !== parent) process.kill(process.pid, "SIGTERM");
}, 1_000).unref();

/**
 * The load generator's own load over a window: CPU time, cores busy and
 * event-loop delay, so a table shows whether the client, not the server,
 * was the limit.
 */
/** "CPU 1.23 s over 4.5 s = 0.27 cores": a process's CPU over a window ("-" for NaN). */
export function fmtCores(cpuSeconds: number, wallSeconds: number): string {
  const cores = wallSeconds > 0 ? cpuSeconds / wallSeconds : Number.NaN;
  return `CPU ${cpuSeconds.toFixed(2)} s over ${wallSeconds.toFixed(2)} s = ${Number.isFinite(cores) ? cores.toFixed(2) : "-"} cores`;
}

/** CPU per unit of work, in ms (e.g. per stream) or µs (e.g. per event); "-" without work. */
export function fmtCpuPer(
  cpuSeconds: number,
  units: number,
  unit: string,
  scale: "ms" | "µs",
): string {
  if (!(units > 0)) return `- ${scale}/${unit}`;
  const v = (cpuSeconds * (scale === "ms" ? 1e3 : 1e6)) / units;
  return `${v.toFixed(scale === "ms" ? 2 : 1)} ${scale} per ${unit}`;
}

import { monitorEventLoopDelay } from "node:perf_hooks";

/** CPU seconds and event-loop delay (ms) of this process over a window. */
export interface ClientLoad {
  clientCpuSeconds: number;
  /** Wall seconds of the window (cores busy = CPU seconds / these). */
  clientWallSeconds: number;
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
}

/** Starts measuring now; the returned function ends the window and gives the figures. */
export function measureClientLoad(): () => ClientLoad {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    delay.disable();
    return {
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      clientWallSeconds: (performance.now() - t0) / 1000,
      clientLoopDelayP99Ms: delay.percentile(99) / 1e6,
      clientLoopDelayMaxMs: delay.max / 1e6,
    };
  };
}

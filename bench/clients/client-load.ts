/**
 * The load generator's own load over a window: CPU time and event-loop
 * delay, so a table shows whether the client, not the server, was the limit.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

/** CPU seconds and event-loop delay (ms) of this process over a window. */
export interface ClientLoad {
  clientCpuSeconds: number;
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
}

/** Starts measuring now; the returned function ends the window and gives the figures. */
export function measureClientLoad(): () => ClientLoad {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    delay.disable();
    return {
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      clientLoopDelayP99Ms: delay.percentile(99) / 1e6,
      clientLoopDelayMaxMs: delay.max / 1e6,
    };
  };
}

/**
 * Where and when a result was measured: machine, Node.js, load, git
 * commit, date. Recorded with every result, since benchmark figures mean
 * little without them (other processes share these 2-core machines).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";

/** The measuring environment. */
export interface MachineInfo {
  date: string;
  host: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: number[];
  gitCommit: string;
  /** True when the work tree had uncommitted changes. */
  gitDirty: boolean;
}

/** Describes this machine now; `cwd` is the repository. */
export function machineInfo(cwd: string): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    gitCommit: git(cwd, ["rev-parse", "HEAD"]) ?? "unknown",
    gitDirty: (git(cwd, ["status", "--porcelain"]) ?? "") !== "",
  };
}

/** Current 1, 5 and 15 minute load averages, rounded. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

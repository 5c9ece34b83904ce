/**
 * What Linux tells about another process and the loopback network, read
 * from /proc: CPU time, resident memory, open descriptors and their limit,
 * and established TCP connections of a listening port; and raising this
 * process's `nofile` limit with prlimit(1) for scenarios with many
 * connections (the benchmark runs as root on our machines; elsewhere the
 * soft limit can still go up to the hard one). Linux only, like the
 * machines the figures are for.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system, all threads) the process and its live child
 * processes have used so far: a server started with WORKERS > 1 does its
 * work in children (for one process, the only child is tsx's esbuild
 * service, idle after start).
 */
export function cpuSeconds(pid: number): number {
  let total = ownCpuSeconds(pid);
  for (const child of descendants(pid)) {
    try {
      total += ownCpuSeconds(child);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Live descendants of `pid`, from the parent fields of /proc/<pid>/stat. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const wanted = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (wanted.has(parent) && !wanted.has(child)) {
        wanted.add(child);
        out.push(child);
        grew = true;
      }
    }
  }
  return out;
}

/** CPU seconds of the process itself (all its threads). */
function ownCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "(comm) ".
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/**
 * Established TCP connections whose local port is `port`, i.e. the
 * server-side ends of the connections to a listener on this machine.
 */
export function establishedConnections(port: number): number {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st ...; addresses are HEXIP:HEXPORT.
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== "01") continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port) n += 1;
    }
  }
  return n;
}

/** A process's `nofile` limit. */
export interface FdLimit {
  soft: number;
  hard: number;
}

/** `Max open files` of a process (`self` or a pid), from /proc/<pid>/limits. */
export function fdLimit(pid: number | "self" = "self"): FdLimit {
  const text = readFileSync(`/proc/${pid}/limits`, "utf8");
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  const cols = line?.trim().split(/\s+/) ?? [];
  // "Max open files  <soft>  <hard>  files"
  const num = (s: string | undefined) => (s === "unlimited" ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: num(cols[3]), hard: num(cols[4]) };
}

/**
 * Raises this process's `nofile` limit to at least `wanted` (soft, and hard
 * if needed), so processes started afterwards (server, load generator)
 * inherit it. Never lowers it; caps at /proc/sys/fs/nr_open. Raising the
 * hard limit needs CAP_SYS_RESOURCE (root in most setups, but not in every
 * container); without it the soft limit goes up to the hard one. Returns
 * the limit in effect and, if it is below `wanted`, why.
 */
export function raiseFdLimit(wanted: number): { limit: FdLimit; problem?: string } {
  const before = fdLimit();
  if (before.soft >= wanted) return { limit: before };
  let cap = wanted;
  try {
    cap = Math.min(wanted, Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim()));
  } catch {
    // keep wanted
  }
  const prlimit = (value: string) => {
    try {
      execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${value}`], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      return undefined;
    } catch (err) {
      return String((err as { stderr?: Buffer }).stderr ?? err).trim();
    }
  };
  let problem: string | undefined;
  if (before.hard < cap) problem = prlimit(`${cap}:${cap}`);
  if (fdLimit().soft < cap) prlimit(`${Math.min(cap, fdLimit().hard)}:`);
  const limit = fdLimit();
  if (limit.soft >= wanted) return { limit };
  return {
    limit,
    problem: `open-files limit ${limit.soft} (hard ${limit.hard}), ${wanted} wanted${problem ? `: ${problem}` : ""}`,
  };
}

/** Open file descriptors of a process; NaN if unreadable. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in bytes (VmRSS); NaN if unreadable. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of a process ({@link cpuSeconds}), NaN once it is gone. */
export function cpuSecondsOrNaN(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return Number.NaN;
  }
}

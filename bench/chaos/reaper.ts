/**
 * A last-resort cleanup for a chaos run that dies without running its own
 * (SIGKILL, a test runner tearing down its worker): a small detached
 * process that checks every second whether the run is still alive and, once
 * it is not, kills the run's private MariaDB and Redis, found by the ports
 * in their command lines, and removes MariaDB's data folder (named there
 * too). The server instances
 * need none of this: lib/server-hooks.ts ends them when their parent goes.
 */
import { spawn } from "node:child_process";

/** What the reaper looks for once the run is gone. */
export interface ReaperTargets {
  mariadbPort: number;
  redisPort: number;
}

// Plain JavaScript for `node -e`: starts in milliseconds, no tsx.
const script = `
const fs = require("node:fs");
const path = require("node:path");
const [parent, mariadbPort, redisPort] = process.argv.slice(1);
const alive = (pid) => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const reap = () => {
  const dirs = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\\d+$/.test(d))) {
    let cmd = "";
    try { cmd = fs.readFileSync("/proc/" + pid + "/cmdline", "utf8").split("\\0").join(" "); } catch { continue; }
    const mine = (cmd.includes("mariadbd") && cmd.includes("--port=" + mariadbPort + " ")) ||
      (cmd.startsWith("redis-server") && cmd.trim().endsWith(":" + redisPort));
    if (!mine) continue;
    try { process.kill(Number(pid), "SIGKILL"); } catch {}
    const datadir = / --datadir=(\\S+)/.exec(cmd);
    if (datadir && path.basename(path.dirname(datadir[1])).startsWith("chat-mariadb-")) dirs.push(path.dirname(datadir[1]));
  }
  setTimeout(() => {
    for (const p of dirs) { try { fs.rmSync(p, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, 1000);
};
setInterval(() => { if (!alive(parent)) reap(); }, 1000);
process.on("SIGTERM", () => process.exit(0));
`;

/** Starts the reaper; returns a function that ends it (the run cleaned up by itself). */
export function startReaper(t: ReaperTargets): () => void {
  const child = spawn(
    process.execPath,
    ["-e", script, String(process.pid), String(t.mariadbPort), String(t.redisPort)],
    { detached: true, stdio: "ignore" },
  );
  child.unref();
  return () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // gone already
    }
  };
}

/**
 * A peer server as its own process, started and measured exactly like our
 * server (bench/server-process.ts): `node --expose-gc --import tsx
 * --import ./bench/server-hooks.ts <script>` on a free loopback port, in its
 * own process group, so the orchestrator reads its CPU time from /proc and
 * its memory after a full GC (SIGUSR2), and the watchdog in
 * bench/server-hooks.ts ends it if the benchmark dies.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import { memoryMarker } from "../server-hooks.js";
import { freePort, repoRoot, type ServerMemory, type ServerProcess } from "../server-process.js";
import { type PeerName, peers } from "./peers.js";

/** Starts peer `name` and waits until `/healthz` answers 200. */
export async function startPeerServer(
  name: PeerName,
  readyTimeoutMs = 30_000,
): Promise<ServerProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1" };
  const args = [
    "--expose-gc",
    "--import",
    "tsx",
    "--import",
    "./bench/server-hooks.ts",
    peers[name].script,
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  let onMemory: ((m: ServerMemory) => void) | undefined;
  const collector = () => {
    let partial = "";
    return (chunk: Buffer) => {
      const all = (partial + chunk.toString("utf8")).split("\n");
      partial = all.pop() ?? "";
      for (const line of all) {
        if (line.startsWith(memoryMarker)) onMemory?.(JSON.parse(line.slice(memoryMarker.length)));
        else if (line.trim() !== "" && lines.length < 1_000) lines.push(line);
      }
    };
  };
  child.stdout?.on("data", collector());
  child.stderr?.on("data", collector());
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  if (child.pid === undefined) throw new Error(`could not start the ${name} peer server`);

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const server: ServerProcess = {
    pid: child.pid,
    port,
    baseUrl,
    exited,
    output: () => lines,
    memory: () =>
      new Promise<ServerMemory>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no memory report from the ${name} peer server`)),
          10_000,
        );
        onMemory = (m) => {
          clearTimeout(timer);
          onMemory = undefined;
          resolve(m);
        };
        child.kill("SIGUSR2");
      }),
    stop,
  };

  let gone: number | string | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone !== undefined || Date.now() >= deadline) {
      await stop(2_000);
      const why =
        gone !== undefined
          ? `exited during start-up (${gone})`
          : `was not healthy within ${readyTimeoutMs} ms`;
      const tail = lines.slice(-20).join("\n");
      throw new Error(`the ${name} peer server ${why}${tail ? `\noutput:\n${tail}` : ""}`);
    }
    if ((await healthStatus(`${baseUrl}/healthz`)) === 200) return server;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function healthStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/**
 * A peer server as its own process, started and measured exactly like our
 * server (startProcess in bench/lib/server-process.ts): on a free loopback port,
 * in its own process group, so the orchestrator reads its CPU time from
 * /proc and its memory after a full GC (SIGUSR2), and the watchdog in
 * bench/lib/server-hooks.ts ends it if the benchmark dies.
 */
import { type ServerProcess, startProcess } from "../lib/server-process.js";
import { type PeerName, peers } from "./peers.js";

/**
 * Starts peer `name` and waits until `/healthz` answers 200. No
 * SERVER_NODE_OPTIONS and none of our server's environment: those are ours.
 */
export function startPeerServer(name: PeerName, readyTimeoutMs = 30_000): Promise<ServerProcess> {
  return startProcess({
    name: `the ${name} peer server`,
    script: peers[name].script,
    readyTimeoutMs,
    stopGraceMs: 10_000,
  });
}

/**
 * Several server processes on one port: Node's cluster module, the primary
 * accepting connections and handing each to a worker (round-robin on
 * Linux), every worker a full instance. Instances already share everything
 * through MySQL and the Redis broker (fan-out, presence, session
 * revocation, limits), exactly as instances on separate machines do, so a
 * worker needs nothing of its siblings: this file only starts, restarts and
 * stops processes. Knows nothing of chat.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";

/** How the primary supervises its workers. */
export interface ClusterOptions {
  workers: number;
  logger: Logger;
  /** Grace given to workers on SIGTERM/SIGINT before they are killed. */
  shutdownTimeoutMs: number;
  /** A worker that dies within this long of its start counts as a failed start. */
  quickExitMs?: number;
  /** Failed starts in a row after which the primary gives up (exit 1). */
  maxQuickExits?: number;
}

/** True in a worker of a cluster started by {@link runPrimary}. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs the primary: forks `workers` copies of this program, replaces a
 * worker that dies (a crash of one instance costs its own connections
 * only; their clients resume on a sibling), forwards SIGTERM/SIGINT and
 * exits once every worker has stopped. Returns when the workers are
 * forked; the process stays up while they run.
 */
export function runPrimary(opts: ClusterOptions): void {
  const { logger } = opts;
  const quickExitMs = opts.quickExitMs ?? 5_000;
  const maxQuickExits = opts.maxQuickExits ?? 5;
  const started = new Map<Worker, number>();
  let stopping = false;
  let quickExits = 0;

  const fork = () => {
    const w = cluster.fork();
    started.set(w, Date.now());
  };
  cluster.on("exit", (w, code, signal) => {
    const lived = Date.now() - (started.get(w) ?? 0);
    started.delete(w);
    if (stopping) {
      if (started.size === 0) {
        logger.info("every worker stopped");
        process.exit(0);
      }
      return;
    }
    quickExits = lived < quickExitMs ? quickExits + 1 : 0;
    logger.error({ worker: w.process.pid, code, signal, livedMs: lived }, "worker exited");
    if (quickExits >= maxQuickExits) {
      logger.error({ quickExits }, "workers keep failing to start: stopping");
      stop("worker failures", 1);
      return;
    }
    fork();
  });

  const stop = (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why, workers: started.size }, "stopping workers");
    for (const w of started.keys()) w.process.kill("SIGTERM");
    setTimeout(() => {
      for (const w of started.keys()) w.process.kill("SIGKILL");
      process.exit(exitCode || 1);
    }, opts.shutdownTimeoutMs + 5_000).unref();
    if (started.size === 0) process.exit(exitCode);
    if (exitCode) process.exitCode = exitCode;
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  for (let i = 0; i < opts.workers; i++) fork();
  logger.info({ workers: opts.workers }, "started workers");
}

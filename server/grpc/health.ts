/**
 * The standard gRPC health service (`grpc.health.v1.Health`), fed by a
 * monitor that probes the server's dependencies (database, Redis, ...) in the
 * background. Probing off the request path keeps Check cheap and lets load
 * balancers poll it as often as they like.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";

/** Serving status as reported by the health service. */
export { HealthCheckResponse_ServingStatus as ServingStatus };

type ServingStatus = HealthCheckResponse_ServingStatus;
const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;

/**
 * A dependency probe. It should reject when the dependency is unusable; the
 * signal aborts when the probe times out, so it can cancel its own work.
 */
export type HealthCheck = (signal: AbortSignal) => Promise<void>;

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** Named probes; the server is SERVING only while all of them pass. */
  checks: Record<string, HealthCheck>;
  /**
   * Named probes that are reported (see {@link HealthMonitor.report}) but do
   * not make the server NOT_SERVING: dependencies it can serve without,
   * degraded. A shared one failing must not pull every instance out of
   * the load balancer at once.
   */
  advisory?: Record<string, HealthCheck>;
  /** Pause between the end of one round and the start of the next. Default 5000. */
  intervalMs?: number;
  /** A probe that takes longer than this counts as failed. Default 2000. */
  timeoutMs?: number;
  /** Receives a line whenever the set of failing probes changes. */
  logger?: Pick<Logger, "info" | "warn">;
}

/**
 * Runs all checks periodically and derives one serving status: SERVING while
 * every check passes, NOT_SERVING otherwise (and before the first round, so
 * nobody routes traffic to a server that has not proven healthy yet).
 */
export class HealthMonitor {
  private status: ServingStatus = NOT_SERVING;
  private shuttingDown = false;
  private running = false;
  /** Bumped by start/stop so a round still in flight from an old run stops looping. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private failing = "";
  private lastReport: Record<string, string> = {};
  private readonly listeners = new Set<(status: ServingStatus) => void>();
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly firstRound: Promise<void>;
  private firstRoundDone: () => void = () => {};

  constructor(private readonly opts: HealthMonitorOptions) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.firstRound = new Promise((resolve) => {
      this.firstRoundDone = resolve;
    });
  }

  /** Starts probing: one round now, then one every `intervalMs`. Idempotent. */
  start(): void {
    if (this.running || this.shuttingDown) return;
    this.running = true;
    void this.loop(++this.generation);
  }

  /** Stops probing; the status keeps its last value. */
  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
  }

  /** The status right now. */
  current(): ServingStatus {
    return this.status;
  }

  /** Resolves once the first round has finished (or shutdown began). */
  ready(): Promise<void> {
    return this.firstRound;
  }

  /**
   * The outcome of every probe at the last round: "ok" or why it failed,
   * advisory ones included.
   */
  report(): Record<string, string> {
    return { ...this.lastReport };
  }

  /** Runs a round now (a dependency just changed state) instead of waiting for the next. */
  recheck(): void {
    if (!this.running || this.shuttingDown) return;
    clearTimeout(this.timer);
    void this.loop(++this.generation);
  }

  /** Calls `listener` on every status change. Returns the unsubscribe function. */
  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reports NOT_SERVING from now on, whatever the checks say, so load
   * balancers drain this instance before it closes its listener.
   */
  setShuttingDown(): void {
    this.shuttingDown = true;
    this.stop();
    this.set(NOT_SERVING);
    this.firstRoundDone();
  }

  private async loop(generation: number): Promise<void> {
    await this.round();
    this.firstRoundDone();
    if (generation !== this.generation) return;
    // setTimeout after the round (not setInterval) so slow rounds never overlap;
    // unref so the monitor alone does not keep the process alive.
    this.timer = setTimeout(() => void this.loop(generation), this.intervalMs).unref();
  }

  private async round(): Promise<void> {
    const probe = async ([name, check]: [string, HealthCheck], required: boolean) => {
      try {
        await withTimeout(check, this.timeoutMs);
        return { name, required, error: undefined };
      } catch (err) {
        return { name, required, error: err instanceof Error ? err.message : String(err) };
      }
    };
    const results = await Promise.all([
      ...Object.entries(this.opts.checks).map((c) => probe(c, true)),
      ...Object.entries(this.opts.advisory ?? {}).map((c) => probe(c, false)),
    ]);
    if (this.shuttingDown) return;
    this.lastReport = Object.fromEntries(results.map((r) => [r.name, r.error ?? "ok"]));
    const failures = results
      .filter((r) => r.error !== undefined)
      .map((r) => ({
        name: r.name,
        error: r.error as string,
        ...(r.required ? {} : { advisory: true }),
      }));
    // Log transitions only: a dead database would otherwise log every interval.
    const failing = failures.map((f) => f.name).join(",");
    if (failing !== this.failing) {
      if (failing) this.opts.logger?.warn({ failures }, "health checks failing");
      else this.opts.logger?.info({}, "health checks passing");
      this.failing = failing;
    }
    this.set(failures.some((f) => !f.advisory) ? NOT_SERVING : SERVING);
  }

  private set(status: ServingStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const listener of this.listeners) {
      // One faulty listener must not starve the others or kill the probe loop.
      try {
        listener(status);
      } catch (err) {
        this.opts.logger?.warn({ err }, "health listener failed");
      }
    }
  }
}

/** Runs one probe, failing it after `ms` and aborting its signal. */
async function withTimeout(check: HealthCheck, ms: number): Promise<void> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${ms}ms`);
      ctl.abort(err);
      reject(err);
    }, ms);
  });
  try {
    // Promise.resolve().then: a probe that throws synchronously still fails cleanly.
    await Promise.race([Promise.resolve().then(() => check(ctl.signal)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link registerHealth}. */
export interface HealthOptions {
  /** Service names clients may ask about besides "" (the whole server). */
  services: readonly string[];
  /** Aborted when the server shuts down: open Watch streams end with UNAVAILABLE. */
  shutdownSignal?: AbortSignal;
}

/**
 * Registers `grpc.health.v1.Health`. Every known service shares the
 * monitor's status: they live in one process and fail together.
 */
export function registerHealth(
  router: ConnectRouter,
  monitor: HealthMonitor,
  opts: HealthOptions,
): void {
  const known = new Set(["", ...opts.services]);
  const shutdown = opts.shutdownSignal;
  const status = (): ServingStatus => (shutdown?.aborted ? NOT_SERVING : monitor.current());
  const response = (s: ServingStatus): HealthCheckResponse =>
    create(HealthCheckResponseSchema, { status: s });

  router.service(Health, {
    check(req) {
      if (!known.has(req.service)) {
        throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      }
      return response(status());
    },

    list() {
      return { statuses: Object.fromEntries([...known].map((name) => [name, response(status())])) };
    },

    async *watch(req, ctx) {
      // One wake-up callback shared by status changes, client disconnect and
      // shutdown; each wait installs a fresh resolver, so nothing accumulates
      // on long-lived streams (unlike racing a long-lived promise each time).
      let wake = () => {};
      const unsubscribe = monitor.subscribe(() => wake());
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
        shutdown?.removeEventListener("abort", onAbort);
      };
      // Release on abort as well as in `finally`: when the client leaves while
      // this generator is parked at a `yield`, Connect never resumes it, so
      // `finally` would not run and the listener would leak. After either
      // signal the loop below never waits for a status change again.
      const onAbort = () => {
        release();
        wake();
      };
      ctx.signal.addEventListener("abort", onAbort);
      shutdown?.addEventListener("abort", onAbort);
      try {
        const isKnown = known.has(req.service);
        let last: ServingStatus | undefined;
        for (;;) {
          if (ctx.signal.aborted) return;
          if (shutdown?.aborted) {
            // Tell the watcher to drain before the stream ends.
            if (isKnown && last !== undefined && last !== NOT_SERVING) yield response(NOT_SERVING);
            throw new ConnectError("server is shutting down", Code.Unavailable);
          }
          // An unknown service stays unknown, but the spec keeps the stream open.
          const now = isKnown ? status() : SERVICE_UNKNOWN;
          if (now !== last) {
            last = now;
            yield response(now);
            // Re-check before waiting: changes while parked at the yield hit a
            // stale `wake` and would otherwise be missed.
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        release();
      }
    },
  });
}

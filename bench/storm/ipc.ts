/**
 * Messages between the storm orchestrator (orchestrator.ts) and its load
 * generator (loadgen.ts):
 *
 *   setup → setupDone   accounts and rooms exist, no stream open
 *   storm → stormDone   every call started at once, each ready or failed
 *   hold  → holdDone    the streams were held open; drops counted
 */
import type { ClientLoad } from "../clients/client-load.js";
import type { SetupDone } from "../clients/feed-setup.js";
import type { LatencySummary } from "../lib/histogram.js";
import type { StormOptions } from "./options.js";

/** Orchestrator → load generator. */
export type ToStorm =
  | { type: "setup"; baseUrl: string; options: StormOptions }
  | { type: "storm" }
  | { type: "hold" };

/** What the storm measured (client load: from the first call until every call settled). */
export interface StormStats extends ClientLoad {
  started: number;
  ready: number;
  /** Failed before ready (errors and timeouts). */
  failedBeforeReady: number;
  errorsByCode: Record<string, number>;
  topErrors: { message: string; count: number }[];
  /** Call start → ready, per stream. */
  timeToReady: LatencySummary;
  /** Storm start → the last ready. */
  allReadySeconds: number;
  /** Time to start every call (the loop itself, or --spread-ms). */
  startSeconds: number;
  /** CPU seconds of the load generator in that loop (NaN with --spread-ms). */
  startCpuSeconds: number;
  connections: number;
}

/** After the hold. */
export interface HoldStats {
  /** Ready streams that ended during the hold. */
  droppedAfterReady: number;
  droppedByCode: Record<string, number>;
  aliveAtEnd: number;
  otherEvents: number;
}

/** Load generator → orchestrator. */
export type FromStorm =
  | SetupDone
  | { type: "stormDone"; stats: StormStats }
  | { type: "holdDone"; stats: HoldStats };

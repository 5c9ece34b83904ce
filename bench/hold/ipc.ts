/**
 * Messages between the hold orchestrator (orchestrator.ts) and its load
 * generator (loadgen.ts):
 *
 *   setup  → setupDone    accounts and rooms exist, no stream open
 *   step   → stepDone     `count` more streams opened (or failed)
 *   status → statusDone   the streams' state now
 */
import type { ClientLoad } from "../clients/client-load.js";
import type { SetupDone } from "../clients/feed-setup.js";
import type { HoldOptions } from "./options.js";

/** Orchestrator → load generator. */
export type ToHold =
  | { type: "setup"; baseUrl: string; options: HoldOptions }
  | { type: "step"; count: number }
  | { type: "status" };

/** The streams' state. */
export interface HoldStatus {
  /** Streams started so far. */
  started: number;
  /** Ready and not ended. */
  alive: number;
  failedToOpen: number;
  /** Ended after ready. */
  dropped: number;
  failuresByCode: Record<string, number>;
  topFailures: { message: string; count: number }[];
  heartbeats: number;
  otherEvents: number;
  connections: number;
  /** This process after a full GC. */
  clientRss: number;
  clientHeapUsed: number;
}

/** One step (client load: this process during the step; is the client the limit?). */
export interface StepStats extends ClientLoad {
  opened: number;
  ready: number;
  failedInStep: number;
  seconds: number;
  status: HoldStatus;
}

/** Load generator → orchestrator. */
export type FromHold =
  | SetupDone
  | { type: "stepDone"; stats: StepStats }
  | { type: "statusDone"; status: HoldStatus };

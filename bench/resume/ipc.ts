/**
 * Messages between the resume orchestrator (orchestrator.ts) and its load
 * generator (loadgen.ts), one per phase:
 *
 *   setup      → setupDone     accounts and rooms exist
 *   open       → opened        the first connection of every stream is ready
 *   disconnect → disconnected  every stream and connection closed
 *   advance    → advanced      the rooms moved on while the streams were away
 *   reconnect  → reconnected   every stream resumed and caught up (or the bound ran out)
 */
import type { ClientLoad } from "../clients/client-load.js";
import type { SetupDone } from "../clients/feed-setup.js";
import type { LatencySummary } from "../lib/histogram.js";
import type { ResumeOptions } from "./options.js";

/** Orchestrator → load generator. */
export type ToResume =
  | { type: "setup"; baseUrl: string; options: ResumeOptions }
  | { type: "open" }
  | { type: "disconnect" }
  | { type: "advance" }
  | { type: "reconnect" };

/** What the reconnect measured (client load: from the reconnect start until every stream settled). */
export interface ReconnectStats extends ClientLoad {
  streams: number;
  ready: number;
  caughtUp: number;
  /** Streams with exactly every event from their position to the final head, once, in order. */
  complete: number;
  wrong: number;
  wrongExamples: string[];
  duplicates: number;
  gaps: number;
  resets: number;
  foreign: number;
  /** Ready streams missing events when the wait ended. */
  incomplete: number;
  errorsByCode: Record<string, number>;
  topErrors: { message: string; count: number }[];
  timeToReady: LatencySummary;
  /** Call start → receipt of every room's head as it was before the reconnect. */
  timeToCaughtUp: LatencySummary;
  /** Reconnect start → last stream caught up. */
  allCaughtUpSeconds: number;
  /** Reconnect start → last stream complete (live messages included). */
  allCompleteSeconds: number;
  /** Events the streams had to catch up on (their positions → pre-reconnect heads). */
  replayedEvents: number;
  /** Room events received in total. */
  roomEventsReceived: number;
  liveSent: number;
  liveErrors: number;
  timedOut: boolean;
  connections: number;
}

/** Load generator → orchestrator. */
export type FromResume =
  | SetupDone
  | { type: "opened"; ready: number; failed: number; openSeconds: number; connections: number }
  | { type: "disconnected"; serverConnectionsLeft: number; seconds: number }
  | { type: "advanced"; sent: number; errors: number; seconds: number; heads: bigint[] }
  | { type: "reconnected"; stats: ReconnectStats };

/**
 * Messages between the sends orchestrator (orchestrator.ts) and its load
 * generator (loadgen.ts):
 *
 *   setup → setupDone       accounts, rooms and memberships exist
 *   phase → phaseDone       one phase sent (spread, hot or solo), every call settled
 */
import type { ClientProtocol } from "../clients/client-pool.js";
import type { Ack } from "../lib/db-checks.js";
import type { LatencySummary } from "../lib/histogram.js";
import type { SendPhase, SendVia } from "./options.js";

/** What the load generator needs. */
export interface SendsConfig {
  baseUrl: string;
  /** The run's database (`--via direct` writes to it). */
  databaseUrl: string;
  rooms: number;
  senders: number;
  withHotRoom: boolean;
  protocol: ClientProtocol;
  via: SendVia;
  /** `--via unary`: the lean client (clients/lean-unary.ts) or the SDK's. */
  client: "lean" | "sdk";
  rate: number;
  concurrency: number;
  durationMs: number;
  maxInFlight: number;
  sendTimeoutMs: number;
  size: number;
}

/** What one phase measured. */
export interface PhaseStats {
  phase: SendPhase;
  /** Sends due (fixed rate) or started (saturation). */
  offered: number;
  started: number;
  acked: number;
  /** Fixed rate: due while --max-in-flight calls were open; never sent. */
  skipped: number;
  errorsByCode: Record<string, number>;
  firstErrors: string[];
  /** `sender/client_msg_id` of every failed call (the server may still have stored it). */
  failed: string[];
  /** Ack time minus the scheduled time (fixed rate) or the call start (saturation). */
  ackLatency: LatencySummary;
  /** Fixed rate: call start minus scheduled time (load generator lag). */
  startLag: LatencySummary;
  /** Seconds from the first scheduled send to the last ack. */
  windowSeconds: number;
  /** Seconds of the sending schedule itself (--duration). */
  sendingSeconds: number;
  clientCpuSeconds: number;
  /** Rooms sent to. */
  roomsUsed: number;
  acks: Ack[];
}

export type ToSends = { type: "setup"; config: SendsConfig } | { type: "phase"; phase: SendPhase };

export type FromSends =
  | {
      type: "setupDone";
      users: number;
      rooms: bigint[];
      hotRoom: bigint | undefined;
      clientIdPrefix: string;
    }
  | { type: "phaseDone"; stats: PhaseStats; connections: number };

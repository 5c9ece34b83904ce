/**
 * Messages between the fan-out orchestrator (orchestrator.ts) and its load
 * generator process (loadgen.ts), over the fork IPC channel
 * (lib/loadgen-process.ts). The orchestrator drives the phases so it can
 * read the server's memory and CPU time between them:
 *
 *   start   → setupDone      users and rooms exist, no stream open
 *   open    → streamsReady   every stream got `ready`
 *   publish → result         messages sent, deliveries drained or timed out
 */
import type { ClientProtocol } from "../clients/client-pool.js";
import type { SubscriberClient } from "../clients/subscriber-pool.js";
import type { LatencySummary } from "../lib/histogram.js";
import type { PeerName } from "../peers/peers.js";

/** The server under load: ours, or one of the peers (bench/peers/). */
export type Target = "protochat" | PeerName;

/** What the load generator needs to know. */
export interface LoadgenConfig {
  target: Target;
  baseUrl: string;
  /** How subscribers reach our server (peers: one WebSocket each). */
  protocol: ClientProtocol;
  /** Client code of the Subscribe streams (ours only). */
  client: SubscriberClient;
  subscribers: number;
  rooms: number;
  /** Messages per second; 0 = saturation. */
  rate: number;
  durationMs: number;
  concurrency: number;
  maxLag: number;
  size: number;
  drainTimeoutMs: number;
  /** Subscribe streams one user may hold (the server's FEED_MAX_STREAMS_PER_USER). */
  streamsPerUser: number;
}

/** Orchestrator → load generator. */
export type ToFanout =
  | { type: "start"; config: LoadgenConfig }
  | { type: "open" }
  | { type: "publish" };

/** Load generator → orchestrator. */
export type FromFanout =
  | {
      type: "setupDone";
      /** Accounts created (0 for peers). */
      users: number;
      rooms: number;
    }
  | {
      type: "streamsReady";
      /** Time to open every stream and receive every `ready`. */
      openMs: number;
      /** Client connections (HTTP/1.1, WebSocket) or HTTP/2 sessions carrying the streams. */
      connections: number;
    }
  | { type: "result"; result: LoadgenResult };

/** What the subscribers' checks found, summed over subscribers (also stored as is). */
export interface DeliveryCheck {
  /** Sum over subscribers of the messages sent to their room. */
  deliveriesExpected: number;
  /** Messages (message_created events) received. */
  deliveriesReceived: number;
  /** Events with a sequence already seen on that stream. */
  duplicates: number;
  /** Sequences skipped (a later one arrived first). */
  gaps: number;
  /** Subscribers whose stream ended before the run did. */
  streamErrors: number;
  /** Subscribers that did not get exactly their room's messages, once each, in order. */
  subscribersWrong: number;
  /** A few of them, described. */
  wrongExamples: string[];
  /** Deliveries were still missing when the drain timeout ran out. */
  drainTimedOut: boolean;
  /** Events other than room events (presence, room stats, heartbeats). */
  otherEvents: number;
}

/** What the load generator measured while publishing. */
export interface LoadgenResult extends DeliveryCheck {
  /** Sends acknowledged (SendMessage, or a peer's publish acknowledgement). */
  sent: number;
  sendErrors: number;
  firstSendError?: string;
  /** Fixed rate: sends not made because too many were still in flight. */
  sendsSkipped: number;
  /** Seconds from the first send to the last one started. */
  publishSeconds: number;
  /** Seconds from the first send to the last delivery. */
  deliverySeconds: number;
  /** Send round trip (until acknowledged). */
  sendLatency: LatencySummary;
  /** Messages (message_created): receive time minus the send time embedded in the text. */
  latency: LatencySummary;
  /** Messages: receive time minus the first receipt of that message by any subscriber. */
  spread: LatencySummary;
  /** CPU seconds of the load generator while publishing and draining. */
  clientCpuSeconds: number;
}

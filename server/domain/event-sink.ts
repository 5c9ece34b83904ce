/**
 * Where committed room events go after their transaction commits: the live
 * feeds. Writers call `publish` only after COMMIT, so a subscriber never sees
 * an event that could still roll back.
 */
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";

/** Receives events in sequence order per room, after they are durable. */
export interface RoomEventSink {
  /**
   * `events` are the events of one transaction (one room, ascending seqs);
   * `bytes` holds each one's encoding, made once, in the same order.
   */
  publish(events: readonly RoomEvent[], bytes: readonly Uint8Array[]): void;
}

/** A sink that drops everything; for deployments and tests without feeds. */
export const discardEvents: RoomEventSink = { publish: () => {} };

/**
 * What the fan-out load generator talks to, after setup: our server
 * (accounts, rooms, Subscribe streams, SendMessage; loadgen.ts) or a peer
 * server (bench/peers/peer-clients.ts). The load generator opens the
 * subscribers, publishes through `send` and checks the deliveries the same
 * way for every target.
 */
import type { CheckedSubscriber, DeliverySink } from "../clients/subscriber.js";

/** A server under load, set up. */
export interface LoadTarget {
  /** Accounts created (0 for peers, which have none). */
  users: number;
  rooms: bigint[];
  /** The room of subscriber i, for i = 0..subscribers-1. */
  roomOf: bigint[];
  /** Subscriber `i` (not yet running). */
  subscriber(i: number, sink: DeliverySink): CheckedSubscriber;
  /** The room's sequence before the run's first message; every subscriber is ready. */
  roomBase(roomId: bigint, subscribers: CheckedSubscriber[]): Promise<bigint>;
  /** Connections (or HTTP/2 sessions) the subscribers use. */
  connections(): number;
  /** Publishes one message; resolves when the server acknowledged it. */
  send(roomId: bigint, text: string, i: number): Promise<void>;
  /** Closes the publisher's and the subscribers' connections. */
  close(): void;
}

/** Subscribers per room: `subscribers` split evenly, the first rooms get the remainder. */
export function subscribersPerRoom(subscribers: number, rooms: number): number[] {
  return Array.from(
    { length: rooms },
    (_, r) => Math.floor(subscribers / rooms) + (r < subscribers % rooms ? 1 : 0),
  );
}

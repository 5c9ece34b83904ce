/**
 * Client transports for subscriber streams. How streams share connections
 * is the point of each protocol, so it is made explicit rather than left to
 * library defaults; the pools are bench/client-pool.ts's, with the fan-out's
 * layout:
 *
 * - `connect-h1`: a Connect transport over HTTP/1.1 per subscriber, each
 *   with its own `http.Agent` (keep-alive, maxSockets 1): one TCP
 *   connection per stream.
 * - `grpc-h2`: a gRPC transport per subscriber, each with its own
 *   `Http2SessionManager`: one HTTP/2 session (TCP connection) per stream.
 * - `grpc-h2-multi`: one manager (session) per {@link streamsPerSession}
 *   subscribers.
 *
 * Tokens are sent per call, so transports carry no user.
 *
 * These are the `--client sdk` subscribers ({@link sdkSubscribers});
 * bench/lean-subscriber.ts has the same connection layout without the SDK
 * (bench/README.md ("Subscriber client")).
 */
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { FeedService } from "../gen/chat/v1/feed_pb.js";
import { createClientPool } from "./client-pool.js";
import { type Protocol, streamsPerSession } from "./fanout-options.js";
import { type CheckedSubscriber, type DeliverySink, SdkSubscriber } from "./subscriber.js";

/**
 * Subscribe streams of one client kind (`--client`), laid out over
 * connections as the protocol says; each subscriber is created on demand.
 */
export interface SubscriberPool {
  /** Subscriber `i` of `roomId`, calling as the holder of `token` (not yet running). */
  subscriber(i: number, roomId: bigint, token: string, sink: DeliverySink): CheckedSubscriber;
  /** Connections (HTTP/1.1) or sessions (HTTP/2) created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/** `--client sdk`: the generated SDK's client over connect-node transports. */
export function sdkSubscribers(protocol: Protocol, baseUrl: string): SubscriberPool {
  // streamsPerSession (100) is also the HTTP/2 default of concurrent streams,
  // so the pool's raised peer limit changes nothing here.
  const pool = createClientPool(protocol, baseUrl, {
    perSession: streamsPerSession,
    h1MaxSockets: 1,
  });
  return {
    subscriber: (i, roomId, token, sink) =>
      new SdkSubscriber(i, roomId, createClient(FeedService, pool.transportFor(i)), token, sink),
    connections: () => pool.connections(),
    close: () => pool.close(),
  };
}

/** The transport for setup and publishing: one HTTP/2 session, gRPC. */
export function controlTransport(baseUrl: string): { transport: Transport; close(): void } {
  const sessionManager = new Http2SessionManager(baseUrl);
  return {
    transport: createGrpcTransport({ baseUrl, sessionManager }),
    close: () => sessionManager.abort(),
  };
}

/**
 * What the load generator talks to, after setup: our server (accounts,
 * rooms, Subscribe streams, SendMessage) or a peer server (bench/peers/).
 * The load generator opens the subscribers, publishes through `send` and
 * checks the deliveries the same way for every target.
 */
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

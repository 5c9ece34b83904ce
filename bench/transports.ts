/**
 * Client transports for subscriber streams. How streams share connections
 * is the point of each protocol, so it is made explicit here rather than
 * left to library defaults:
 *
 * - `connect-h1`: a Connect transport over HTTP/1.1 per subscriber, each
 *   with its own `http.Agent` (keep-alive, maxSockets 1): one TCP
 *   connection per stream.
 * - `grpc-h2`: a gRPC transport per subscriber, each with its own
 *   `Http2SessionManager`: one HTTP/2 session (TCP connection) per stream.
 *   connect-node would also create a manager per transport by itself
 *   (validateNodeTransportOptions), and a manager holds a single session;
 *   passing it explicitly makes that visible and lets us close it.
 * - `grpc-h2-multi`: one manager (session) per {@link streamsPerSession}
 *   subscribers.
 *
 * Tokens are sent per call, so transports carry no user.
 *
 * These are the `--client sdk` subscribers ({@link sdkSubscribers});
 * bench/lean-subscriber.ts has the same connection layout without the SDK
 * (bench/README.md ("Subscriber client")).
 */
import http from "node:http";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { FeedService } from "../gen/chat/v1/feed_pb.js";
import { type Protocol, streamsPerSession } from "./fanout-options.js";
import { type CheckedSubscriber, type DeliverySink, SdkSubscriber } from "./subscriber.js";

/** Transports for subscribers 0..N-1. */
export interface TransportPool {
  /** The transport of subscriber `i` (created on first use). */
  transportFor(i: number): Transport;
  /** Connections (HTTP/1.1) or sessions (HTTP/2) created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/** Creates the pool for `protocol`. */
export function createTransportPool(protocol: Protocol, baseUrl: string): TransportPool {
  switch (protocol) {
    case "connect-h1":
      return connectH1Pool(baseUrl);
    case "grpc-h2":
      return grpcH2Pool(baseUrl, 1);
    case "grpc-h2-multi":
      return grpcH2Pool(baseUrl, streamsPerSession);
  }
}

function connectH1Pool(baseUrl: string): TransportPool {
  const agents: http.Agent[] = [];
  const transports = new Map<number, Transport>();
  return {
    transportFor(i) {
      let t = transports.get(i);
      if (!t) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        agents.push(agent);
        t = createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } });
        transports.set(i, t);
      }
      return t;
    },
    connections: () => agents.length,
    close() {
      for (const a of agents) a.destroy();
    },
  };
}

function grpcH2Pool(baseUrl: string, perSession: number): TransportPool {
  const managers: Http2SessionManager[] = [];
  const transports = new Map<number, Transport>();
  return {
    transportFor(i) {
      const group = Math.floor(i / perSession);
      let t = transports.get(group);
      if (!t) {
        const sessionManager = new Http2SessionManager(baseUrl);
        managers.push(sessionManager);
        t = createGrpcTransport({ baseUrl, sessionManager });
        transports.set(group, t);
      }
      return t;
    },
    connections: () => managers.length,
    close() {
      for (const m of managers) m.abort();
    },
  };
}

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
  const pool = createTransportPool(protocol, baseUrl);
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

/**
 * Subscribe streams for the fan-out, of the client kind `--client` asks
 * for (bench/README.md, "Subscriber client"), laid out over connections
 * as the protocol says (client-pool.ts):
 *
 * - `connect-h1`: one TCP connection per stream (an `http.Agent` with
 *   keep-alive and one socket each).
 * - `grpc-h2`: one HTTP/2 session (TCP connection) per stream.
 * - `grpc-h2-multi`: one session per {@link defaultPerSession} streams.
 *
 * Tokens are sent per call, so connections carry no user.
 */
import { createClient } from "@connectrpc/connect";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { type ClientProtocol, createClientPool, defaultPerSession } from "./client-pool.js";
import { leanSubscribers } from "./lean-subscriber.js";
import { SdkSubscriber, type SubscriberPool } from "./subscriber.js";

/** Which client code carries the Subscribe streams. */
export const subscriberClients = ["lean", "sdk"] as const;
/**
 * - `lean`: node:http / node:http2 and the generated message types, one
 *   envelope parser per stream (lean-subscriber.ts): about as light as the
 *   peers' WebSocket clients, so the server is what saturates.
 * - `sdk`: the generated SDK, `createClient` over connect-node transports:
 *   what an application would use.
 */
export type SubscriberClient = (typeof subscriberClients)[number];

/** Subscribers of the `client` kind over `protocol`; connections are made as streams start. */
export function subscriberPool(
  client: SubscriberClient,
  protocol: ClientProtocol,
  baseUrl: string,
): SubscriberPool {
  return client === "lean" ? leanSubscribers(protocol, baseUrl) : sdkSubscribers(protocol, baseUrl);
}

/** `--client sdk`: the generated SDK's client over connect-node transports. */
export function sdkSubscribers(protocol: ClientProtocol, baseUrl: string): SubscriberPool {
  // defaultPerSession (100) is also the HTTP/2 default of concurrent streams,
  // so the pool's raised peer limit changes nothing here.
  const pool = createClientPool(protocol, baseUrl, {
    perSession: defaultPerSession,
    h1MaxSockets: 1,
  });
  return {
    subscriber: (i, roomId, token, sink) =>
      new SdkSubscriber(i, roomId, createClient(FeedService, pool.transportFor(i)), token, sink),
    connections: () => pool.connections(),
    close: () => pool.close(),
  };
}

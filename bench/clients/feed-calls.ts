/**
 * The Subscribe calls of the storm, resume and hold streams
 * (feed-stream.ts), of the client kind `--client` asks for
 * (bench/README.md, "Subscriber client"):
 *
 * - `lean`: the lean calls of lean-subscriber.ts (node:http / node:http2,
 *   one envelope splitter per call, `fromBinary` per message), the same
 *   code as the fan-out's lean subscribers.
 * - `sdk`: `createClient(FeedService, transport)` over connect-node
 *   transports (client-pool.ts), `for await` over the stream.
 *
 * Both send the stream's resume positions in the request and lay out
 * connections alike: `connect-h1` and `grpc-h2` one connection per
 * stream, `grpc-h2-multi` one HTTP/2 session per `perSession` streams.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import {
  FeedService,
  type SubscribeResponse,
  SubscribeResponseSchema,
} from "../../gen/chat/v1/feed_pb.js";
import { type ClientProtocol, createClientPool } from "./client-pool.js";
import { leanSubscribeCalls, type Position, subscribeRequestBody } from "./lean-subscriber.js";
import type { SubscriberClient } from "./subscriber-pool.js";

/** Subscribe calls of a group of streams, on connections of their own. */
export interface FeedCalls {
  readonly client: SubscriberClient;
  /**
   * Runs one Subscribe call of stream `i` as the holder of `token`, from
   * `positions` (none: live from the heads in `ready`), handing `each`
   * every response. Resolves when the server ends the call cleanly;
   * rejects with the call's error. After `signal` aborts it resolves or
   * rejects with a Canceled error.
   */
  run(
    i: number,
    token: string,
    positions: readonly Position[],
    signal: AbortSignal,
    each: (res: SubscribeResponse) => void,
  ): Promise<void>;
  /** Connections (HTTP/1.1) or sessions (HTTP/2) created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/** Calls of the `client` kind over `protocol`; connections are made as streams start. */
export function feedCalls(
  client: SubscriberClient,
  protocol: ClientProtocol,
  baseUrl: string,
  perSession: number,
): FeedCalls {
  return client === "lean"
    ? leanFeedCalls(protocol, baseUrl, perSession)
    : sdkFeedCalls(protocol, baseUrl, perSession);
}

function leanFeedCalls(protocol: ClientProtocol, baseUrl: string, perSession: number): FeedCalls {
  const calls = leanSubscribeCalls(protocol, baseUrl, perSession);
  // Most streams send no position (storm, hold): one request body for all of them.
  const live = subscribeRequestBody();
  return {
    client: "lean",
    run: (i, token, positions, signal, each) =>
      calls.run(
        i,
        token,
        positions.length ? subscribeRequestBody(positions) : live,
        signal,
        (payload) => each(fromBinary(SubscribeResponseSchema, payload)),
      ),
    connections: () => calls.connections(),
    close: () => calls.close(),
  };
}

function sdkFeedCalls(protocol: ClientProtocol, baseUrl: string, perSession: number): FeedCalls {
  const pool = createClientPool(protocol, baseUrl, { perSession, h1MaxSockets: 1 });
  const clients = new Map<number, Client<typeof FeedService>>();
  return {
    client: "sdk",
    async run(i, token, positions, signal, each) {
      let c = clients.get(i);
      if (!c) {
        c = createClient(FeedService, pool.transportFor(i));
        clients.set(i, c);
      }
      const stream = c.subscribe(
        { positions: [...positions] },
        { signal, headers: { authorization: `Bearer ${token}` } },
      );
      for await (const res of stream) each(res);
    },
    connections: () => pool.connections(),
    close: () => pool.close(),
  };
}

/**
 * The chaos clients' connections: each client (subscriber or sender) has
 * its own connection to each instance, as a browser tab or a mobile app
 * behind a load balancer would: gRPC over h2c (one HTTP/2 session per
 * client and instance, reconnected by connect-node after it breaks) or the
 * Connect protocol over HTTP/1.1 (one keep-alive agent per client and
 * instance), binary or JSON. The generated SDK all the way: this is what an
 * application built on `gen/` sees.
 */
import http from "node:http";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import type { FailureLog } from "./call-errors.js";
import type { Random } from "./random.js";

/** What every chaos client (subscriber, sender) is made with. */
export interface ClientSpec {
  index: number;
  userId: bigint;
  token: string;
  connections: ClientConnections;
  /** Instances it may use (it moves to another after a failure). */
  instances: number;
  /** Its own stream of random numbers (forked from the run's seed). */
  random: Random;
  failures: FailureLog;
}

/** How a client talks to the server. */
export type ChaosProtocol = "grpc-h2" | "connect-h1" | "connect-h1-json";

/** The generated clients of one client for one instance. */
export interface InstanceClients {
  feed: Client<typeof FeedService>;
  messages: Client<typeof MessageService>;
}

/** A client's connections to every instance. */
export class ClientConnections {
  private readonly clients: InstanceClients[];
  private readonly closers: (() => void)[] = [];

  constructor(
    readonly protocol: ChaosProtocol,
    baseUrls: readonly string[],
  ) {
    this.clients = baseUrls.map((baseUrl) => {
      const transport = this.transport(baseUrl);
      return {
        feed: createClient(FeedService, transport),
        messages: createClient(MessageService, transport),
      };
    });
  }

  /** Clients for instance `i`. */
  to(i: number): InstanceClients {
    const c = this.clients[i];
    if (!c) throw new Error(`no instance ${i}`);
    return c;
  }

  /** Closes every connection. */
  close(): void {
    for (const close of this.closers.splice(0)) close();
  }

  private transport(baseUrl: string): Transport {
    if (this.protocol === "grpc-h2") {
      const sessionManager = new Http2SessionManager(baseUrl);
      this.closers.push(() => sessionManager.abort());
      return createGrpcTransport({ baseUrl, sessionManager });
    }
    const agent = new http.Agent({ keepAlive: true });
    this.closers.push(() => agent.destroy());
    return createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: this.protocol === "connect-h1",
      nodeOptions: { agent },
    });
  }
}

/** The protocol of client `i`: half gRPC, half Connect (a third of those JSON). */
export function protocolOf(i: number): ChaosProtocol {
  if (i % 2 === 0) return "grpc-h2";
  return i % 6 === 5 ? "connect-h1-json" : "connect-h1";
}

/** Call options with a bearer token. */
export function authOptions(token: string, signal?: AbortSignal, timeoutMs?: number) {
  return {
    headers: { authorization: `Bearer ${token}` },
    ...(signal ? { signal } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
}

/** Wall-clock milliseconds with sub-millisecond precision (comparable across processes). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/**
 * Client transports of every scenario, with how many calls share a
 * connection made a parameter, since that is what the scenarios vary (the
 * lean subscribers of lean-subscriber.ts lay out their connections alike).
 *
 * - `connect-h1`: Connect protocol over HTTP/1.1; one `http.Agent` per
 *   client (keep-alive, `h1MaxSockets` sockets, 1 for a stream: one TCP
 *   connection per stream, what browsers on plain http do).
 * - `grpc-h2`: gRPC over h2c, one `Http2SessionManager` (one HTTP/2
 *   session, one TCP connection) per client.
 * - `grpc-h2-multi`: gRPC over h2c, `perSession` clients share one session
 *   (default 100). The client's assumed peer limit of concurrent streams
 *   (`peerMaxConcurrentStreams`, 100 until the server's SETTINGS say
 *   otherwise) is raised to `perSession`, so streams beyond 100 on one
 *   session are not left pending.
 *
 * Tokens are sent per call, so transports carry no user.
 */
import http from "node:http";
import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

/** How clients reach the server. */
export const clientProtocols = ["connect-h1", "grpc-h2", "grpc-h2-multi"] as const;
export type ClientProtocol = (typeof clientProtocols)[number];

/** `grpc-h2-multi`: clients per HTTP/2 session unless a scenario says otherwise. */
export const defaultPerSession = 100;

/** Options of a pool. */
export interface PoolOptions {
  /** `grpc-h2-multi`: clients per HTTP/2 session. Default {@link defaultPerSession}. */
  perSession?: number;
  /** `connect-h1`: sockets per client agent. Default 1. */
  h1MaxSockets?: number;
}

/** Transports for clients 0..N-1. */
export interface ClientPool {
  readonly protocol: ClientProtocol;
  /** The transport of client `i` (created on first use). */
  transportFor(i: number): Transport;
  /** HTTP/1.1 agents or HTTP/2 sessions created. */
  connections(): number;
  /** Closes every connection and session. */
  close(): void;
}

/** Creates a pool. */
export function createClientPool(
  protocol: ClientProtocol,
  baseUrl: string,
  options: PoolOptions = {},
): ClientPool {
  switch (protocol) {
    case "connect-h1":
      return h1Pool(baseUrl, options.h1MaxSockets ?? 1);
    case "grpc-h2":
      return h2Pool(protocol, baseUrl, 1);
    case "grpc-h2-multi":
      return h2Pool(protocol, baseUrl, options.perSession ?? defaultPerSession);
  }
}

/** The transport for setup and publishing: one HTTP/2 session, gRPC. */
export function controlTransport(baseUrl: string): { transport: Transport; close(): void } {
  const pool = createClientPool("grpc-h2", baseUrl);
  return { transport: pool.transportFor(0), close: () => pool.close() };
}

function h1Pool(baseUrl: string, maxSockets: number): ClientPool {
  const agents: http.Agent[] = [];
  const transports = new Map<number, Transport>();
  return {
    protocol: "connect-h1",
    transportFor(i) {
      let t = transports.get(i);
      if (!t) {
        const agent = new http.Agent({ keepAlive: true, maxSockets });
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

function h2Pool(protocol: ClientProtocol, baseUrl: string, perSession: number): ClientPool {
  const managers: Http2SessionManager[] = [];
  const transports = new Map<number, Transport>();
  return {
    protocol,
    transportFor(i) {
      const group = Math.floor(i / perSession);
      let t = transports.get(group);
      if (!t) {
        const sessionManager = new Http2SessionManager(
          baseUrl,
          {},
          { peerMaxConcurrentStreams: Math.max(100, perSession) },
        );
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

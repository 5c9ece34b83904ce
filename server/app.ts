/**
 * The chat server: the parts built by compose.ts behind the one-port
 * listener, the RPC gate and the direct Subscribe path, plus the static web
 * client and the health endpoints. createChatServer builds it from its
 * dependencies (tests and benchmarks give their own); startApp builds it
 * from a configuration with connections of its own (main.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import {
  type ChatServerDeps,
  createRpc,
  defaultServerLimits,
  type ServerLimits,
} from "./compose.js";
import type { Config } from "./config.js";
import type { TokenService } from "./domain/auth/tokens.js";
import { listenMetrics, serveMetrics } from "./platform/http/metrics-endpoint.js";
import { createOnePortListener, type OnePortHandler } from "./platform/http/one-port-listener.js";
import { securityHeaders, webSecurityHeaders } from "./platform/http/security-headers.js";
import { serveStatic } from "./platform/http/static-files.js";
import { createRedis, defaultRedisTimeouts } from "./platform/redis.js";
import { DirectSubscribe } from "./rpc/direct/direct-subscribe.js";
import type { AnyResponse } from "./rpc/direct/stream-writer.js";
import { RpcGate } from "./rpc/gate.js";
import type { HealthMonitor } from "./rpc/grpc/health.js";
import { auditCall } from "./rpc/interceptors/admin.js";
import { createPrisma } from "./store/prisma.js";
import { createSendPool } from "./store/tx.js";

export type { ChatServerDeps, FeedOptions, RpcParts, ServerLimits } from "./compose.js";
export { createRpc, defaultFeedOptions } from "./compose.js";

/** A built server; call listen() to serve. */
export interface ChatServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Graceful shutdown within `timeoutMs`; does not close Prisma or Redis. */
  shutdown(timeoutMs: number): Promise<void>;
  readonly health: HealthMonitor;
  readonly tokens: TokenService;
  /** Where the metrics listener of its own listens (ChatServerDeps.metrics.port), once listening. */
  readonly metricsAddress: AddressInfo | undefined;
}

/** Creates the server. Nothing listens until `listen`. */
export function createChatServer(deps: ChatServerDeps): ChatServer {
  const { logger } = deps;
  const limits: ServerLimits = { ...defaultServerLimits, ...deps.limits };
  const rpc = createRpc(deps);
  const { routes, interceptors, health, tokens, shutdownController } = rpc;
  // Chat payloads are small; refuse anything absurd before decoding.
  const readMaxBytes = 1024 * 1024;
  const gate = new RpcGate({
    routes,
    interceptors,
    readMaxBytes,
    tokens,
    logger,
    mask: rpc.mask,
    maxUnauthenticatedStreams: limits.maxUnauthenticatedStreams,
    adminKeys: rpc.adminKeys,
    onAdminRefused: (method, err) => {
      void auditCall(rpc.audit, logger, { method, target: "", err });
    },
    directUnary: deps.directUnary,
    fallback: (req, res) => {
      void fallback(req as IncomingMessage, res as ServerResponse);
    },
  });

  const webHeaders = webSecurityHeaders(deps.avatarHosts);
  async function fallback(req: IncomingMessage, res: ServerResponse) {
    try {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (
        (path === "/healthz" || path === "/readyz") &&
        (req.method === "GET" || req.method === "HEAD")
      ) {
        // Liveness (/healthz): the process answers, so it works; restarting
        // it would not bring a dependency back. Readiness (/readyz, and
        // grpc.health.v1): whether it can serve now (the database answers,
        // not shutting down); Redis only degrades it. See README, Operations.
        const serving = health.current() === HealthCheckResponse_ServingStatus.SERVING;
        const ok = path === "/healthz" || serving;
        res.writeHead(ok ? 200 : 503, {
          "content-type": "application/json",
          "cache-control": "no-store",
        });
        const status = serving ? "SERVING" : "NOT_SERVING";
        res.end(
          JSON.stringify(path === "/healthz" ? { status } : { status, checks: health.report() }),
        );
        return;
      }
      if (path === "/metrics" && deps.metrics?.token) {
        await serveMetrics(rpc.metrics, req, res, deps.metrics.token);
        return;
      }
      if (deps.webDir && (await serveStatic(deps.webDir, req, res, webHeaders))) return;
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...securityHeaders });
      res.end("not found\n");
    } catch (err) {
      logger.error({ err }, "fallback handler failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  }

  // Subscribe, the hot path, is written directly when the request allows;
  // everything else (and unusual Subscribe requests) goes through the gate
  // to connect-node.
  const direct = new DirectSubscribe({
    streams: rpc.streams,
    tokens,
    logger,
    readMaxBytes,
    mask: rpc.mask,
    checkAvailable: () => rpc.dbGate.check(),
  });
  const handler: OnePortHandler = (req, res) => {
    if (!direct.handle(req, res as AnyResponse)) gate.handle(req, res);
  };
  const refusedConnections = throttledCount(10_000, (count, limit) =>
    logger.warn({ refused: count, limit }, "connection limit reached: refusing connections"),
  );
  const listener = createOnePortListener({
    handler,
    headerTimeoutMs: limits.headersTimeoutMs,
    limits,
    onLimit: (event) => {
      if (event.kind === "connections") refusedConnections(event.limit);
      else gate.bodyTimedOut(event.req, event.reason);
    },
  });

  rpc.countConnections(() => listener.connectionCount());
  let metricsServer: Server | undefined;
  let metricsAddress: AddressInfo | undefined;

  return {
    health,
    tokens,
    async listen(port, host) {
      health.start();
      await health.ready();
      const address = await listener.listen(port, host);
      if (deps.metrics?.port !== undefined && !metricsServer) {
        const m = await listenMetrics(rpc.metrics, deps.metrics.port, host, (err) =>
          logger.error({ err }, "metrics not served"),
        );
        metricsServer = m.server;
        metricsAddress = m.address;
      }
      return address;
    },
    get metricsAddress() {
      return metricsAddress;
    },
    async shutdown(timeoutMs) {
      health.setShuttingDown();
      // Streams see this and end with Unavailable so clients resume elsewhere.
      shutdownController.abort();
      await listener.close(timeoutMs);
      const m = metricsServer;
      metricsServer = undefined;
      if (m) await new Promise((resolve) => m.close(resolve));
      direct.close();
      health.stop();
      await rpc.close();
    },
  };
}

/**
 * Counts events and reports them at most once per `intervalMs` (the first at
 * once, later ones with how many happened since): a flood of refused
 * connections must not become a flood of log lines.
 */
function throttledCount(
  intervalMs: number,
  report: (count: number, limit: number) => void,
): (limit: number) => void {
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  return (limit) => {
    count += 1;
    if (timer) return;
    report(count, limit);
    count = 0;
    timer = setTimeout(() => {
      timer = undefined;
      if (count > 0) report(count, limit);
      count = 0;
    }, intervalMs);
    timer.unref();
  };
}

/** A server running on connections of its own (see {@link startApp}). */
export interface RunningApp {
  server: ChatServer;
  address: AddressInfo;
  /** Graceful shutdown, then closes the database pools and Redis. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Builds and starts a server from a configuration, with its own database
 * pools and Redis connection: the one wiring used by main.ts and by the
 * server processes of tests and benchmarks. Migrations are the caller's.
 */
export async function startApp(
  config: Config,
  logger: Logger,
  extra: Partial<ChatServerDeps> = {},
): Promise<RunningApp> {
  const prisma = createPrisma(config.databaseUrl);
  const redisTimeouts = { ...defaultRedisTimeouts, commandTimeoutMs: config.redisCommandTimeoutMs };
  const redis = config.redisUrl ? createRedis(config.redisUrl, logger, redisTimeouts) : undefined;
  const sendPool = createSendPool(config.databaseUrl);
  const server = createChatServer({
    prisma,
    redis,
    sendPool,
    logger,
    tokenTtlSeconds: config.tokenTtlSeconds,
    redisPrefix: config.redisPrefix,
    webDir: config.webDir,
    feed: config.feed,
    databaseUrl: config.databaseUrl,
    redisTimeouts,
    limits: config.limits,
    avatarHosts: config.avatarHosts,
    metrics: { port: config.metricsPort, token: config.metricsToken },
    webhooks: config.webhooks,
    directUnary: config.directUnary,
    ...extra,
  });
  try {
    const address = await server.listen(config.port, config.host);
    return {
      server,
      address,
      async stop(timeoutMs) {
        await server.shutdown(timeoutMs);
        await Promise.allSettled([prisma.$disconnect(), redis?.quit(), sendPool.end()]);
      },
    };
  } catch (err) {
    // Nothing of a failed start stays open.
    await server.shutdown(0).catch(() => {});
    redis?.disconnect();
    await Promise.allSettled([prisma.$disconnect(), sendPool.end()]);
    throw err;
  }
}

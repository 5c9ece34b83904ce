/**
 * Builds the chat server from its dependencies without listening, so tests
 * and the entry point (main.ts) wire it the same way.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import type { Pool } from "mariadb";
import type { Logger } from "pino";
import { HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import type { PrismaClient } from "../prisma/generated/client.js";
import { MemorySessionCache, RedisSessionCache } from "./auth/session-cache.js";
import { TokenService } from "./auth/tokens.js";
import { type Clock, systemClock } from "./clock.js";
import { InProcessBroker, RedisBroker } from "./feed/broker.js";
import { DirectSubscribe } from "./feed/direct-subscribe.js";
import { FeedHub, type RecentEventsOptions } from "./feed/feed-hub.js";
import type { SessionOptions } from "./feed/feed-session.js";
import { FeedStreams } from "./feed/feed-streams.js";
import { channels, encodeBus } from "./feed/frames.js";
import { defaultPresenceOptions, Presence, type PresenceOptions } from "./feed/presence.js";
import { MemoryPresenceStore, RedisPresenceStore } from "./feed/presence-store.js";
import type { AnyResponse } from "./feed/stream-writer.js";
import { TypingTracker } from "./feed/typing.js";
import { HealthMonitor } from "./grpc/health.js";
import { authInterceptor } from "./interceptors/auth.js";
import { errorInterceptor } from "./interceptors/errors.js";
import { loggingInterceptor } from "./interceptors/logging.js";
import { validationInterceptor } from "./interceptors/validation.js";
import {
  createOnePortListener,
  defaultListenerLimits,
  type ListenerLimits,
  type OnePortHandler,
} from "./one-port-listener.js";
import { RoomWriter } from "./rooms/room-writer.js";
import { createRoutes } from "./routes.js";
import { RpcGate } from "./rpc-gate.js";
import { securityHeaders, webSecurityHeaders } from "./security-headers.js";
import { serveStatic } from "./static-files.js";

/** Everything the server needs from outside. */
export interface ChatServerDeps {
  prisma: PrismaClient;
  /** Absent: one instance with in-process state. */
  redis?: Redis;
  logger: Logger;
  clock?: Clock;
  tokenTtlSeconds: number;
  redisPrefix: string;
  /** Built web client to serve at `/`; skipped when missing. */
  webDir?: string;
  /** Live-feed limits; defaults in {@link defaultFeedOptions}. */
  feed?: Partial<FeedOptions>;
  /** Presence timing; defaults in {@link defaultPresenceOptions}. */
  presence?: Partial<PresenceOptions>;
  /** How often health checks run. */
  healthIntervalMs?: number;
  /** Pool for the send hot path (`createSendPool`); its owner ends it. Absent: sends use Prisma. */
  sendPool?: Pool;
  /** Limits against hostile or broken clients; defaults in {@link defaultServerLimits}. */
  limits?: Partial<ServerLimits>;
  /**
   * Hosts avatar URLs may point at, exact or `*.domain` (server/services/avatar-url.ts);
   * also allowed as image sources in the web page's CSP. Default none: no avatar URLs.
   */
  avatarHosts?: readonly string[];
}

/** What clients may hold, and for how long (see "Operations: hostile clients" in README.md). */
export interface ServerLimits extends ListenerLimits {
  /** First bytes, HTTP/1.1 headers and an HTTP/2 session's first stream must come within it. */
  headersTimeoutMs: number;
  /** Open long-lived calls without a token (Health.Watch, reflection) per process. */
  maxUnauthenticatedStreams: number;
}

/** Defaults of {@link ServerLimits}. */
export const defaultServerLimits: ServerLimits = {
  ...defaultListenerLimits,
  headersTimeoutMs: 10_000,
  maxUnauthenticatedStreams: 100,
};

/** A built server; call listen() to serve. */
export interface ChatServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Graceful shutdown within `timeoutMs`; does not close Prisma or Redis. */
  shutdown(timeoutMs: number): Promise<void>;
  readonly health: HealthMonitor;
  readonly tokens: TokenService;
}

/** Interceptors, outermost first: log, mask internals, authenticate, validate. */
function interceptors(logger: Logger, tokens: TokenService): Interceptor[] {
  return [
    loggingInterceptor(logger),
    errorInterceptor(logger),
    authInterceptor(tokens),
    validationInterceptor(),
  ];
}

/** Live-feed settings. */
export interface FeedOptions extends SessionOptions, RecentEventsOptions {
  /** Open Subscribe/Chat streams per user and instance. */
  maxStreamsPerUser: number;
}

/** Feed defaults: 15 s heartbeats (under common proxy idle timeouts). */
export const defaultFeedOptions: FeedOptions = {
  heartbeatMs: 15_000,
  queueLimit: 1_000,
  maxReplay: 1_000,
  maxStreamsPerUser: 10,
  // A few hundred KB per busy room with feeds here: covers the usual
  // reconnect gap without a database read.
  recentEvents: 256,
  lingerMs: 30_000,
};

/** The RPC side of the server, without any network: routes and interceptors. */
export interface RpcParts {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  health: HealthMonitor;
  tokens: TokenService;
  /** Aborting it ends every open stream with Unavailable. */
  shutdownController: AbortController;
  feed: FeedHub;
  streams: FeedStreams;
  /** Releases the bus and timers (after the listener closed). */
  close(): Promise<void>;
}

/**
 * Wires services, interceptors and health from the dependencies. Used by
 * {@link createChatServer} and by tests on an in-memory router transport.
 */
export function createRpc(deps: ChatServerDeps): RpcParts {
  const { prisma, redis, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const cache = redis
    ? new RedisSessionCache(redis, deps.redisPrefix, logger)
    : new MemorySessionCache();
  const tokens = new TokenService(prisma, cache, clock, deps.tokenTtlSeconds);
  const checks: Record<string, () => Promise<void>> = {
    mysql: async () => {
      await prisma.$queryRawUnsafe("SELECT 1");
    },
  };
  if (redis) {
    checks.redis = async () => {
      await redis.ping();
    };
  }
  const health = new HealthMonitor({ checks, intervalMs: deps.healthIntervalMs ?? 5_000, logger });
  const shutdownController = new AbortController();
  const feedOptions = { ...defaultFeedOptions, ...deps.feed };
  const broker = redis
    ? new RedisBroker(redis, `${deps.redisPrefix}bus:`, logger)
    : new InProcessBroker(logger);
  const feed = new FeedHub(broker, prisma, logger, feedOptions, feedOptions);
  const typing = new TypingTracker((channel, payload) => feed.send(channel, payload));
  const presence = new Presence(
    redis ? new RedisPresenceStore(redis, deps.redisPrefix) : new MemoryPresenceStore(),
    prisma,
    (channel, payload) => feed.send(channel, payload),
    logger,
    { ...defaultPresenceOptions, ...deps.presence },
  );
  feed.onMembership = (roomId, userId, joined) => {
    presence.membershipChanged(roomId, userId, joined).catch((err: unknown) => {
      logger.warn({ err }, "presence membership update failed");
    });
  };
  const streams = new FeedStreams({
    prisma,
    feed,
    presence,
    maxStreamsPerUser: feedOptions.maxStreamsPerUser,
    shutdownSignal: shutdownController.signal,
  });
  tokens.onRevoked = (userId, sessionIds) =>
    feed.send(
      channels.user(userId),
      encodeBus({
        case: "sessionsRevoked",
        value: sessionIds === "all" ? { all: true } : { sessionIds },
      }),
    );
  return {
    routes: createRoutes({
      prisma,
      tokens,
      writer: new RoomWriter(prisma, clock, feed, deps.sendPool),
      clock,
      health,
      feed,
      streams,
      typing,
      shutdownSignal: shutdownController.signal,
      avatarHosts: deps.avatarHosts,
    }),
    interceptors: interceptors(logger, tokens),
    health,
    tokens,
    shutdownController,
    feed,
    streams,
    async close() {
      typing.clear();
      presence.close();
      feed.closeRooms();
      await broker.close();
    },
  };
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
    maxUnauthenticatedStreams: limits.maxUnauthenticatedStreams,
    fallback: (req, res) => {
      void fallback(req as IncomingMessage, res as ServerResponse);
    },
  });

  const webHeaders = webSecurityHeaders(deps.avatarHosts);
  async function fallback(req: IncomingMessage, res: ServerResponse) {
    try {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
        const serving = health.current() === HealthCheckResponse_ServingStatus.SERVING;
        res.writeHead(serving ? 200 : 503, {
          "content-type": "application/json",
          "cache-control": "no-store",
        });
        res.end(JSON.stringify({ status: serving ? "SERVING" : "NOT_SERVING" }));
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
  const direct = new DirectSubscribe({ streams: rpc.streams, tokens, logger, readMaxBytes });
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

  return {
    health,
    tokens,
    async listen(port, host) {
      health.start();
      await health.ready();
      return listener.listen(port, host);
    },
    async shutdown(timeoutMs) {
      health.setShuttingDown();
      // Streams see this and end with Unavailable so clients resume elsewhere.
      shutdownController.abort();
      await listener.close(timeoutMs);
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

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
import { DbGate, type DbWatcher, mariadbWatcher } from "./db/db-gate.js";
import { type Broker, InProcessBroker, RedisBroker } from "./feed/broker.js";
import { DirectSubscribe } from "./feed/direct-subscribe.js";
import { FeedHub, type HubOptions } from "./feed/feed-hub.js";
import type { SessionOptions } from "./feed/feed-session.js";
import { FeedStreams } from "./feed/feed-streams.js";
import { channels, encodeBus } from "./feed/frames.js";
import { defaultPresenceOptions, Presence, type PresenceOptions } from "./feed/presence.js";
import {
  MemoryPresenceStore,
  type PresenceStore,
  RedisPresenceStore,
} from "./feed/presence-store.js";
import type { AnyResponse } from "./feed/stream-writer.js";
import { TypingTracker } from "./feed/typing.js";
import { HealthMonitor } from "./grpc/health.js";
import { authInterceptor } from "./interceptors/auth.js";
import {
  availabilityInterceptor,
  type ErrorMasker,
  errorInterceptor,
  errorMasker,
} from "./interceptors/errors.js";
import { loggingInterceptor } from "./interceptors/logging.js";
import { validationInterceptor } from "./interceptors/validation.js";
import {
  createOnePortListener,
  defaultListenerLimits,
  type ListenerLimits,
  type OnePortHandler,
} from "./one-port-listener.js";
import { defaultRedisTimeouts, RedisGate, type RedisTimeouts } from "./redis.js";
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
  /**
   * The database URL, for the gate's own watcher connection (db-gate.ts).
   * Absent: the gate probes through Prisma instead.
   */
  databaseUrl?: string;
  /** Bounds of request-path Redis calls; defaults in redis.ts. */
  redisTimeouts?: Partial<RedisTimeouts>;
  /** Replaces the bus made from `redis` (fault tests inject failing ones here). */
  broker?: Broker;
  /** Replaces the presence store made from `redis` (fault tests inject failing ones here). */
  presenceStore?: PresenceStore;
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

/**
 * Interceptors, outermost first: log, mask internals, refuse while the
 * database is down, authenticate, validate.
 */
function interceptors(
  logger: Logger,
  tokens: TokenService,
  mask: ErrorMasker,
  dbGate: DbGate,
): Interceptor[] {
  return [
    loggingInterceptor(logger),
    errorInterceptor(mask),
    availabilityInterceptor(dbGate),
    authInterceptor(tokens),
    validationInterceptor(),
  ];
}

/** Live-feed settings. */
export interface FeedOptions extends SessionOptions, HubOptions {
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
  headCheckMs: 5_000,
  sessionCheckMs: 10_000,
};

/** The RPC side of the server, without any network: routes and interceptors. */
export interface RpcParts {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  health: HealthMonitor;
  tokens: TokenService;
  /** Aborting it ends every open stream with Unavailable. */
  shutdownController: AbortController;
  /** What a client sees of a failure (interceptors/errors.ts). */
  mask: ErrorMasker;
  /** Whether the database answers. */
  dbGate: DbGate;
  /** Whether Redis answers (absent without Redis). */
  redisGate: RedisGate | undefined;
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
  const redisGate = redis
    ? new RedisGate(redis, logger, { ...defaultRedisTimeouts, ...deps.redisTimeouts })
    : undefined;
  const dbGate = new DbGate(
    deps.databaseUrl ? mariadbWatcher(deps.databaseUrl, 2_000) : prismaWatcher(prisma),
    logger,
  );
  dbGate.start();
  const mask = errorMasker(logger, dbGate);
  const cache = redisGate
    ? new RedisSessionCache(redisGate, deps.redisPrefix, logger)
    : new MemorySessionCache();
  const tokens = new TokenService(prisma, cache, clock, deps.tokenTtlSeconds);
  // Readiness: the database is required; Redis only degrades the service
  // (caches, presence and cross-instance fan-out fall back), so a shared
  // Redis blip never pulls every instance out of a load balancer at once.
  const health = new HealthMonitor({
    checks: { mysql: async () => dbGate.check() },
    advisory: redisGate
      ? {
          redis: async () => {
            if (!redisGate.available) throw new Error("redis unavailable");
          },
        }
      : {},
    intervalMs: deps.healthIntervalMs ?? 5_000,
    logger,
  });
  dbGate.onChange(() => health.recheck());
  redisGate?.onChange(() => health.recheck());
  const shutdownController = new AbortController();
  const feedOptions = { ...defaultFeedOptions, ...deps.feed };
  const broker =
    deps.broker ??
    (redis
      ? new RedisBroker(redis, `${deps.redisPrefix}bus:`, logger)
      : new InProcessBroker(logger));
  const feed = new FeedHub(broker, prisma, logger, feedOptions, feedOptions);
  const typing = new TypingTracker((channel, payload) => feed.send(channel, payload));
  const presence = new Presence(
    deps.presenceStore ??
      (redisGate ? new RedisPresenceStore(redisGate, deps.redisPrefix) : new MemoryPresenceStore()),
    prisma,
    (channel, payload) => feed.send(channel, payload),
    logger,
    { ...defaultPresenceOptions, ...deps.presence },
  );
  redisGate?.onChange((up) => {
    if (up) presence.storeRestored();
  });
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
      logger,
      mask,
      checkAvailable: () => dbGate.check(),
      avatarHosts: deps.avatarHosts,
    }),
    interceptors: interceptors(logger, tokens, mask, dbGate),
    health,
    tokens,
    shutdownController,
    mask,
    dbGate,
    redisGate,
    feed,
    streams,
    async close() {
      typing.clear();
      presence.close();
      feed.closeRooms();
      dbGate.close();
      redisGate?.close();
      await broker.close();
    },
  };
}

/**
 * A database watcher through Prisma, for servers built without a database
 * URL: no connection of its own, so a dead server is noticed by the ping
 * (or by a failing call), not the moment it dies.
 */
function prismaWatcher(prisma: PrismaClient): DbWatcher {
  const ping = async () => {
    await prisma.$queryRawUnsafe("SELECT 1");
  };
  return {
    async connect() {
      await ping();
      return { ping, close: () => {} };
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
    mask: rpc.mask,
    maxUnauthenticatedStreams: limits.maxUnauthenticatedStreams,
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

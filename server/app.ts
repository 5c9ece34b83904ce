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
import type { Config } from "./config.js";
import { defaults, tuning } from "./config.js";
import { MemorySessionCache, RedisSessionCache } from "./domain/auth/session-cache.js";
import { TokenService } from "./domain/auth/tokens.js";
import { RoomWriter } from "./domain/room-writer.js";
import { type Clock, systemClock } from "./platform/clock.js";
import {
  createOnePortListener,
  type ListenerLimits,
  type OnePortHandler,
} from "./platform/http/one-port-listener.js";
import { securityHeaders, webSecurityHeaders } from "./platform/http/security-headers.js";
import { serveStatic } from "./platform/http/static-files.js";
import {
  createRedis,
  defaultRedisTimeouts,
  RedisGate,
  type RedisTimeouts,
} from "./platform/redis.js";
import { type Broker, InProcessBroker, RedisBroker } from "./realtime/bus/broker.js";
import { channels, encodeBus } from "./realtime/bus/bus-format.js";
import { FeedHub, type HubOptions } from "./realtime/hub/feed-hub.js";
import {
  defaultPresenceOptions,
  Presence,
  type PresenceOptions,
} from "./realtime/presence/presence.js";
import {
  MemoryPresenceStore,
  type PresenceStore,
  RedisPresenceStore,
} from "./realtime/presence/presence-store.js";
import { TypingTracker } from "./realtime/presence/typing.js";
import type { SessionOptions } from "./realtime/session/feed-session.js";
import { FeedStreams } from "./realtime/session/feed-streams.js";
import { DirectSubscribe } from "./rpc/direct/direct-subscribe.js";
import type { AnyResponse } from "./rpc/direct/stream-writer.js";
import { RpcGate } from "./rpc/gate.js";
import { HealthMonitor } from "./rpc/grpc/health.js";
import { authInterceptor } from "./rpc/interceptors/auth.js";
import {
  availabilityInterceptor,
  type ErrorMasker,
  errorInterceptor,
  errorMasker,
} from "./rpc/interceptors/errors.js";
import { loggingInterceptor } from "./rpc/interceptors/logging.js";
import { validationInterceptor } from "./rpc/interceptors/validation.js";
import { createRoutes } from "./rpc/routes.js";
import { DbGate, type DbWatcher, mariadbWatcher } from "./store/db-gate.js";
import type { PrismaClient } from "./store/prisma.js";
import { createPrisma } from "./store/prisma.js";
import { createSendPool } from "./store/tx.js";

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
   * Hosts avatar URLs may point at, exact or `*.domain` (server/domain/avatar-url.ts);
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

/** Defaults of {@link ServerLimits}, from config.ts. */
export const defaultServerLimits: ServerLimits = defaults.limits;

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

/** Feed defaults, from config.ts. */
export const defaultFeedOptions: FeedOptions = defaults.feed;

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
  // Created below; the hooks that need it run only after construction.
  let feed: FeedHub | undefined;
  const tokens = new TokenService(prisma, cache, clock, deps.tokenTtlSeconds, (userId, ids) =>
    feed?.send(
      channels.user(userId),
      encodeBus({
        case: "sessionsRevoked",
        value: ids === "all" ? { all: true } : { sessionIds: ids },
      }),
    ),
  );
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
    intervalMs: deps.healthIntervalMs ?? tuning.healthIntervalMs,
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
  const hub = new FeedHub(
    broker,
    prisma,
    logger,
    feedOptions,
    feedOptions,
    (roomId, userId, joined) => {
      presence.membershipChanged(roomId, userId, joined).catch((err: unknown) => {
        logger.warn({ err }, "presence membership update failed");
      });
    },
  );
  feed = hub;
  const typing = new TypingTracker((channel, payload) => hub.send(channel, payload));
  const presence: Presence = new Presence(
    deps.presenceStore ??
      (redisGate ? new RedisPresenceStore(redisGate, deps.redisPrefix) : new MemoryPresenceStore()),
    prisma,
    (channel, payload) => hub.send(channel, payload),
    logger,
    { ...defaultPresenceOptions, ...deps.presence },
  );
  redisGate?.onChange((up) => {
    if (up) presence.storeRestored();
  });
  const streams = new FeedStreams({
    prisma,
    feed: hub,
    presence,
    maxStreamsPerUser: feedOptions.maxStreamsPerUser,
    shutdownSignal: shutdownController.signal,
  });
  return {
    routes: createRoutes({
      prisma,
      tokens,
      writer: new RoomWriter(prisma, clock, hub, deps.sendPool),
      clock,
      health,
      feed: hub,
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
    feed: hub,
    streams,
    async close() {
      typing.clear();
      presence.close();
      hub.closeRooms();
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

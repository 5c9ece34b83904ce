/**
 * The composition root: builds every part of a server (gates, caches,
 * tokens, health, bus, feeds, presence, routes, interceptors) from what it
 * depends on outside. app.ts puts a network in front of it; tests mount its
 * routes on an in-memory transport.
 */
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { defaults, tuning } from "./config.js";
import { ApiKeys } from "./domain/admin/api-keys.js";
import { AuditLog } from "./domain/admin/audit-log.js";
import { MemorySessionCache, RedisSessionCache } from "./domain/auth/session-cache.js";
import { TokenService } from "./domain/auth/tokens.js";
import { RoomWriter } from "./domain/room-writer.js";
import {
  WebhookDispatcher,
  type WebhookOptions,
  type WebhookPost,
} from "./domain/webhooks/dispatcher.js";
import { type Clock, systemClock } from "./platform/clock.js";
import type { ListenerLimits } from "./platform/http/one-port-listener.js";
import { postWebhook } from "./platform/http/webhook-post.js";
import { defaultRedisTimeouts, RedisGate, type RedisTimeouts } from "./platform/redis.js";
import { type Broker, InProcessBroker, RedisBroker } from "./realtime/bus/broker.js";
import { channels, encodeBus } from "./realtime/bus/bus-format.js";
import { ClusterStats } from "./realtime/cluster-stats.js";
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
import { HealthMonitor } from "./rpc/grpc/health.js";
import { adminInterceptor } from "./rpc/interceptors/admin.js";
import { authInterceptor } from "./rpc/interceptors/auth.js";
import {
  availabilityInterceptor,
  type ErrorMasker,
  errorInterceptor,
  errorMasker,
} from "./rpc/interceptors/errors.js";
import { loggingInterceptor } from "./rpc/interceptors/logging.js";
import { validationInterceptor } from "./rpc/interceptors/validation.js";
import { createMetrics, type Metrics } from "./rpc/metrics.js";
import { createRoutes } from "./rpc/routes.js";
import { DbGate, type DbWatcher, mariadbWatcher } from "./store/db-gate.js";
import type { PrismaClient } from "./store/prisma.js";
import type { SendPool } from "./store/tx.js";

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
  sendPool?: SendPool;
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
  /** Serve authenticated unary calls on the direct path (rpc/direct/direct-unary.ts); default true. */
  directUnary?: boolean;
  /**
   * Hosts avatar URLs may point at, exact or `*.domain` (server/domain/avatar-url.ts);
   * also allowed as image sources in the web page's CSP. Default none: no avatar URLs.
   */
  avatarHosts?: readonly string[];
  /**
   * Where Prometheus metrics are served (app.ts): `port`, a listener of
   * their own serving `/metrics` (0: any free port); `token`, `/metrics` on
   * the main port for `Authorization: Bearer <token>`. Neither: not served.
   */
  metrics?: { port?: number; token?: string };
  /** Webhook delivery timing; defaults from config.ts (WEBHOOK_*). */
  webhooks?: Partial<WebhookOptions>;
  /** Replaces the webhook POST (tests). */
  webhookPost?: WebhookPost;
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

/**
 * Interceptors, outermost first: log, mask internals, refuse while the
 * database is down, admin API keys and audit (AdminService only),
 * authenticate, validate.
 */
function interceptors(
  logger: Logger,
  tokens: TokenService,
  mask: ErrorMasker,
  dbGate: DbGate,
  admin: { keys: ApiKeys; audit: AuditLog },
): Interceptor[] {
  return [
    loggingInterceptor(logger),
    errorInterceptor(mask),
    availabilityInterceptor(dbGate),
    adminInterceptor(admin.keys, admin.audit, logger),
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
  /** AdminService's API keys (also checked by the gate before a body is read). */
  adminKeys: ApiKeys;
  /** The admin audit log (refusals at the gate land there too). */
  audit: AuditLog;
  /** Figures of this instance and the cluster. */
  stats: ClusterStats;
  /** Prometheus metrics of this server. */
  metrics: Metrics;
  /** Webhook deliveries of this instance. */
  webhooks: WebhookDispatcher;
  /** Tells the statistics how to count this process's open connections (app.ts). */
  countConnections(fn: () => number): void;
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
  const presenceStore =
    deps.presenceStore ??
    (redisGate ? new RedisPresenceStore(redisGate, deps.redisPrefix) : new MemoryPresenceStore());
  const presence: Presence = new Presence(
    presenceStore,
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
  const adminKeys = new ApiKeys(prisma);
  const audit = new AuditLog(prisma);
  let connections = () => 0;
  const stats = new ClusterStats(
    (instanceId) => ({
      instanceId,
      streamsByProtocol: Object.fromEntries(streams.byProtocol),
      connections: connections(),
      messagesPerSecond: hub.messageRate.perSecond(),
      deliveriesPerSecond: hub.deliveryRate.perSecond(),
      localUsers: hub.localUsers(),
      reportedAt: clock.now().getTime(),
    }),
    redisGate,
    `${deps.redisPrefix}stats`,
    logger,
  );
  stats.start();
  const webhooks = new WebhookDispatcher(
    prisma,
    stats.instanceId,
    deps.webhookPost ?? postWebhook,
    clock,
    logger,
    { ...defaults.webhooks, ...deps.webhooks },
  );
  webhooks.start();
  const metrics = createMetrics({
    prisma,
    webhooks,
    logger,
    feed: hub,
    streams,
    dbGate,
    redisGate,
    sendPool: deps.sendPool,
  });
  return {
    routes: createRoutes({
      prisma,
      tokens,
      writer: new RoomWriter(prisma, clock, hub, deps.sendPool, (size, seconds) =>
        metrics.observeBatch(size, seconds),
      ),
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
      admin: { presence: presenceStore, stats, keys: adminKeys, audit },
    }),
    interceptors: interceptors(logger, tokens, mask, dbGate, { keys: adminKeys, audit }),
    health,
    tokens,
    shutdownController,
    mask,
    dbGate,
    redisGate,
    feed: hub,
    streams,
    adminKeys,
    audit,
    stats,
    metrics,
    webhooks,
    countConnections(fn) {
      connections = fn;
    },
    async close() {
      await webhooks.stop();
      await stats.close();
      metrics.close();
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

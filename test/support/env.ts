/**
 * Test environments: a fresh database (migrated) and Redis key prefix, the
 * server's dependencies built on them, and in-memory server instances (the
 * routes and interceptors on a router transport) sharing them. Test files
 * get theirs from setupTestEnv (fixture.ts); this module never imports vitest,
 * so child processes of tests and scripts use it too.
 */
import { randomBytes } from "node:crypto";
import { createRouterTransport, type Transport } from "@connectrpc/connect";
import { Redis } from "ioredis";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { type ChatServerDeps, createRpc, type RpcParts } from "../../server/app.js";
import { createLogger } from "../../server/platform/logger.js";
import { createPrisma } from "../../server/store/prisma.js";
import { createSendPool } from "../../server/store/tx.js";
import { createTestDatabase } from "./db.js";

/** The shared Redis of the tests; override with TEST_REDIS_URL. */
export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** The log level of servers built by tests; TEST_LOG_LEVEL=debug to see them. */
export const testLogLevel = process.env.TEST_LOG_LEVEL ?? "silent";

/** A running test environment. */
export interface TestEnv {
  prisma: PrismaClient;
  databaseUrl: string;
  redis: Redis | undefined;
  /** The URL `redis` connects to (for server processes of the env). */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** What every instance and server of the env is built from; tests may change it. */
  deps: ChatServerDeps;
  /** Runs `fn` first thing in close(), in the order registered. */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

/** What a test environment is made of. */
export interface TestEnvOptions {
  /** Use the shared Redis (a key prefix of its own); default: in-process state. */
  redis?: boolean;
  /** Sends through the mariadb send pool as in production (default), or `false`: Prisma. */
  sendPool?: boolean;
  /** Another Redis than the shared one (a private one of a fault test). */
  redisUrl?: string;
  /** Another MariaDB server than the shared one (a private one of a fault test). */
  mysqlUrl?: string;
}

/** Creates a database (migrated) and, if asked, a Redis prefix. */
export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestEnv> {
  const db = await createTestDatabase({ serverUrl: opts.mysqlUrl });
  const prisma = createPrisma(db.url);
  const sendPool = opts.sendPool === false ? undefined : createSendPool(db.url);
  const redisPrefix = `test:${randomBytes(6).toString("hex")}:`;
  const redisUrl = opts.redis || opts.redisUrl ? (opts.redisUrl ?? testRedisUrl) : undefined;
  const redis = redisUrl ? new Redis(redisUrl) : undefined;
  // Fault tests stop Redis on purpose; the server's own listeners report it.
  redis?.on("error", () => {});
  const deps = testDeps({ prisma, redis, redisPrefix, sendPool, databaseUrl: db.url });
  const closers: (() => Promise<void> | void)[] = [];
  return {
    prisma,
    databaseUrl: db.url,
    redis,
    redisUrl,
    redisPrefix,
    deps,
    onClose: (fn) => closers.push(fn),
    async close() {
      for (const fn of closers.splice(0)) await fn();
      if (redis?.status === "ready") {
        await deleteKeys(redis, `${redisPrefix}*`);
        await redis.quit();
      } else {
        redis?.disconnect();
      }
      await prisma.$disconnect();
      await sendPool?.end();
      await db.drop();
    },
  };
}

/** The server's dependencies on a test database (and Redis): test timings, quiet logs. */
export function testDeps(
  parts: Pick<ChatServerDeps, "prisma" | "redis" | "redisPrefix"> & Partial<ChatServerDeps>,
): ChatServerDeps {
  return {
    logger: createLogger(testLogLevel),
    tokenTtlSeconds: 3600,
    healthIntervalMs: 200,
    // Tests sign up and send far faster than people: limits are tested on
    // their own (test/limits/), with `rateLimits: { enabled: true }`.
    rateLimits: { enabled: false },
    // Tests put strangers into rooms all the time: consent is tested on its own (test/limits/consent.test.ts).
    defaultWhoMayAdd: "ANYONE",
    ...parts,
  };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

/** An in-memory server instance of the env: its parts, and a transport to it. */
export interface Instance {
  transport: Transport;
  rpc: RpcParts;
}

/**
 * The server's routes and interceptors on an in-memory transport: one
 * "server instance" per call, built from `env.deps` with `overrides` over
 * them (instances of one env share the database and Redis). Closed with
 * the env.
 */
export function inMemoryInstance(env: TestEnv, overrides: Partial<ChatServerDeps> = {}): Instance {
  const rpc = createRpc({ ...env.deps, ...overrides });
  env.onClose(() => rpc.close());
  return {
    transport: createRouterTransport(rpc.routes, { router: { interceptors: rpc.interceptors } }),
    rpc,
  };
}

/** The transport of a new {@link inMemoryInstance}. */
export function inMemoryTransport(
  env: TestEnv,
  overrides: Partial<ChatServerDeps> = {},
): Transport {
  return inMemoryInstance(env, overrides).transport;
}

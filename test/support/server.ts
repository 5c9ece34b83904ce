/**
 * Test fixtures: a fresh database (and Redis key prefix) per test file, the
 * chat server on a real port 0 or on an in-memory router transport, and
 * generated clients signed in as new users.
 */
import { randomBytes } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import {
  type Client,
  createClient,
  createRouterTransport,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import type { User } from "../../gen/chat/v1/user_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { createPrisma } from "../../server/db/prisma.js";
import { createLogger } from "../../server/logger.js";
import { createSendPool } from "../../server/rooms/sql-tx.js";
import {
  type ChatServer,
  type ChatServerDeps,
  createChatServer,
  createRpc,
} from "../../server/server.js";
import { createTestDatabase } from "./db.js";

/** A running test environment. */
export interface TestEnv {
  prisma: PrismaClient;
  databaseUrl: string;
  redis: Redis | undefined;
  redisPrefix: string;
  deps: ChatServerDeps;
  /** Runs `fn` first thing in close(). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

/**
 * Creates a database (migrated) and, if asked, a Redis prefix. Sends use
 * the mariadb send pool as in production unless `sendPool: false` (then
 * the Prisma fallback of the RoomWriter).
 */
export async function createTestEnv(
  opts: {
    redis?: boolean;
    sendPool?: boolean;
    /** Another Redis than the shared one (a private one of a fault test). */
    redisUrl?: string;
    /** Another MariaDB server than the shared one (a private one of a fault test). */
    mysqlUrl?: string;
  } = {},
): Promise<TestEnv> {
  const db = await createTestDatabase({ serverUrl: opts.mysqlUrl });
  const prisma = createPrisma(db.url);
  const sendPool = opts.sendPool === false ? undefined : createSendPool(db.url);
  const redisPrefix = `test:${randomBytes(6).toString("hex")}:`;
  const redis =
    opts.redis || opts.redisUrl
      ? new Redis(opts.redisUrl ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379")
      : undefined;
  // Fault tests stop Redis on purpose; the server's own listeners report it.
  redis?.on("error", () => {});
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");
  const deps: ChatServerDeps = {
    prisma,
    redis,
    sendPool,
    logger,
    tokenTtlSeconds: 3600,
    redisPrefix,
    healthIntervalMs: 200,
    databaseUrl: db.url,
  };
  const closers: (() => Promise<void> | void)[] = [];
  return {
    prisma,
    databaseUrl: db.url,
    redis,
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

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

/** The server on 127.0.0.1, port 0. */
export async function startServer(
  env: TestEnv,
): Promise<{ server: ChatServer; url: string; port: number }> {
  const server = createChatServer(env.deps);
  const address = await server.listen(0, "127.0.0.1");
  return { server, url: `http://127.0.0.1:${address.port}`, port: address.port };
}

/**
 * The same routes and interceptors on an in-memory transport: one "server
 * instance" per call (instances of one env share the database and Redis).
 */
export function inMemoryTransport(env: TestEnv): Transport {
  return inMemoryInstance(env).transport;
}

/** An in-memory instance with access to its parts (feed hub, shutdown). */
export function inMemoryInstance(env: TestEnv): {
  transport: Transport;
  rpc: ReturnType<typeof createRpc>;
} {
  const rpc = createRpc(env.deps);
  env.onClose(() => rpc.close());
  return {
    transport: createRouterTransport(rpc.routes, { router: { interceptors: rpc.interceptors } }),
    rpc,
  };
}

/** A Connect-over-HTTP/1.1 transport (what browsers speak), optionally signed in. */
export function httpTransport(baseUrl: string, token?: string): Transport {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  return token ? withToken(transport, token) : transport;
}

let counter = 0;

/** A unique, valid username. */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${randomBytes(3).toString("hex")}${counter}`;
}

/** Registers and logs in a new user; returns its token and user. */
export async function signUp(
  transport: Transport,
  username = uniqueName(),
  password = "correct horse battery",
): Promise<{ token: string; user: User; username: string; password: string }> {
  const auth = createClient(AuthService, transport);
  await auth.register({ username, password });
  const res = await auth.login({ username, password });
  if (!res.user) throw new Error("login returned no user");
  return { token: res.accessToken, user: res.user, username, password };
}

/** A client of `service` that sends `token` on every call. */
export function authed<T extends DescService>(
  service: T,
  transport: Transport,
  token: string,
): Client<T> {
  return createClient(service, withToken(transport, token));
}

/** Wraps a transport so every call carries the bearer token. */
export function withToken(transport: Transport, token: string): Transport {
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${token}`);
      return transport.unary(method, signal, timeoutMs, h, input, contextValues);
    },
    stream: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${token}`);
      return transport.stream(method, signal, timeoutMs, h, input, contextValues);
    },
  };
}

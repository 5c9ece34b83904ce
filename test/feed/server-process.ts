/**
 * One chat server instance in its own process, for tests that want several
 * real instances without sharing the test's event loop (a stuck instance
 * then fails the test instead of freezing it). Started by
 * startServerProcess() (helpers.ts):
 *
 *   node --import tsx test/feed/server-process.ts <database-url> <redis-prefix> <feed-options-json>
 *
 * Prints {"port": n} once listening; shuts down gracefully on SIGTERM.
 */
import { Redis } from "ioredis";
import { createPrisma } from "../../server/db/prisma.js";
import { createLogger } from "../../server/logger.js";
import { createSendPool } from "../../server/rooms/sql-tx.js";
import { createChatServer } from "../../server/server.js";

const [databaseUrl, redisPrefix, feedJson] = process.argv.slice(2);
if (!databaseUrl || !redisPrefix) {
  throw new Error("usage: server-process.ts <database-url> <redis-prefix> [feed-options-json]");
}
const prisma = createPrisma(databaseUrl);
const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
const sendPool = createSendPool(databaseUrl);
const server = createChatServer({
  prisma,
  redis,
  sendPool,
  logger: createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
  tokenTtlSeconds: 3600,
  redisPrefix,
  healthIntervalMs: 200,
  databaseUrl,
  feed: feedJson ? JSON.parse(feedJson) : undefined,
});
const { port } = await server.listen(0, "127.0.0.1");
process.stdout.write(`${JSON.stringify({ port })}\n`);

// Never outlive the test process that started this one.
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(1);
  }
}, 1_000).unref();

process.once("SIGTERM", () => {
  server
    .shutdown(1_000)
    .then(async () => {
      redis.disconnect();
      await Promise.allSettled([prisma.$disconnect(), sendPool.end()]);
      process.exit(0);
    })
    .catch(() => process.exit(1));
});

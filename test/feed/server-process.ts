/**
 * One chat server instance in its own process, for tests that want several
 * real instances without sharing the test's event loop (a stuck instance
 * then fails the test instead of freezing it). Started by
 * startServerProcess() (helpers.ts):
 *
 *   node --import tsx test/feed/server-process.ts <database-url> <redis-prefix> <feed-options-json>
 *
 * Built by startApp (server/app.ts), as production is. Prints {"port": n}
 * once listening; shuts down gracefully on SIGTERM.
 */
import { startApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/platform/logger.js";

const [databaseUrl, redisPrefix, feedJson] = process.argv.slice(2);
if (!databaseUrl || !redisPrefix) {
  throw new Error("usage: server-process.ts <database-url> <redis-prefix> [feed-options-json]");
}
const config = loadConfig({
  DATABASE_URL: databaseUrl,
  REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
  REDIS_PREFIX: redisPrefix,
  PORT: "0",
  HOST: "127.0.0.1",
  TOKEN_TTL_SECONDS: "3600",
});
const app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? "silent"), {
  healthIntervalMs: 200,
  feed: { ...config.feed, ...(feedJson ? JSON.parse(feedJson) : {}) },
});
process.stdout.write(`${JSON.stringify({ port: app.address.port })}\n`);

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
  app
    .stop(1_000)
    .then(() => process.exit(0))
    .catch(() => process.exit(1));
});

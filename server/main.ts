/**
 * Entry point: reads the environment, prepares the database, starts the
 * server and shuts it down gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig, redact } from "./config.js";
import { ensureDatabase, migrate } from "./db/migrate.js";
import { createPrisma } from "./db/prisma.js";
import { createLogger } from "./logger.js";
import { createRedis, defaultRedisTimeouts } from "./redis.js";
import { createSendPool } from "./rooms/sql-tx.js";
import { createChatServer } from "./server.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (config.autoMigrate) {
    if (await ensureDatabase(config.databaseUrl)) {
      logger.info({ database: redact(config.databaseUrl) }, "created database");
    }
    const { applied } = await migrate(config.databaseUrl, { log: (msg) => logger.info(msg) });
    logger.info({ applied }, applied.length ? "applied migrations" : "database schema up to date");
  }
  const prisma = createPrisma(config.databaseUrl);
  const redisTimeouts = {
    ...defaultRedisTimeouts,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  };
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
  });
  const address = await server.listen(config.port, config.host);
  logger.info(
    { port: address.port, host: config.host, redis: config.redisUrl ? "redis" : "in-process" },
    `serving Connect, gRPC and gRPC-Web on http://localhost:${address.port}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    // A hard deadline, in case something refuses to close.
    setTimeout(() => {
      logger.error("shutdown took too long: exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000).unref();
    await server.shutdown(config.shutdownTimeoutMs);
    await Promise.allSettled([prisma.$disconnect(), redis?.quit(), sendPool.end()]);
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});

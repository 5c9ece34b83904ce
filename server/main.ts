/**
 * Entry point: reads the environment, prepares the database, starts the
 * server and shuts it down gracefully on SIGTERM/SIGINT. With WORKERS > 1
 * this process prepares the database, then supervises that many server
 * processes on the same port (platform/process-cluster.ts).
 */
import { availableParallelism } from "node:os";

import { startApp } from "./app.js";
import { ConfigError, loadConfig, redact } from "./config.js";
import { createLogger } from "./platform/logger.js";
import { isClusterWorker, runPrimary } from "./platform/process-cluster.js";
import { ensureDatabase, migrate } from "./store/migrate/migrate.js";

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
  const workers = config.workers === 0 ? availableParallelism() : config.workers;
  // Workers: the primary migrated the database before forking them.
  if (config.autoMigrate && !isClusterWorker()) {
    if (await ensureDatabase(config.databaseUrl)) {
      logger.info({ database: redact(config.databaseUrl) }, "created database");
    }
    const { applied } = await migrate(config.databaseUrl, { log: (msg) => logger.info(msg) });
    logger.info({ applied }, applied.length ? "applied migrations" : "database schema up to date");
  }
  if (workers > 1 && !isClusterWorker()) {
    runPrimary({ workers, logger, shutdownTimeoutMs: config.shutdownTimeoutMs });
    return;
  }
  const app = await startApp(config, logger);
  const address = app.address;
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
    await app.stop(config.shutdownTimeoutMs);
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

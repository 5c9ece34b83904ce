/**
 * A throwaway database per run: `chat_bench_<random>` on the local MariaDB
 * (BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306). The server
 * creates and migrates it on start; the benchmark drops it at the end.
 */
import { randomBytes } from "node:crypto";
import * as mariadb from "mariadb";
import { connectionConfig, parseDatabaseUrl } from "../../server/store/migrate/migrate.js";

/** A database name and URL, and how to drop it. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** Drops the database if it exists. */
  drop(): Promise<void>;
}

/** Picks a fresh database name; nothing is created yet. */
export function benchDatabase(): BenchDatabase {
  const name = `chat_bench_${randomBytes(6).toString("hex")}`;
  const url = new URL(process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306");
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const conn = await mariadb.createConnection(
        connectionConfig(parseDatabaseUrl(url.toString()), null),
      );
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

// Throwaway databases for integration tests: each test file gets its own,
// migrated with the same runner production uses, so tests see the real schema.
import { randomBytes } from "node:crypto";
import * as mariadb from "mariadb";
import {
  connectionConfig,
  ensureDatabase,
  migrate,
  parseDatabaseUrl,
} from "../../server/db/migrate.js";

/** Server URL without a database; override with TEST_MYSQL_URL. */
export const TEST_SERVER_URL = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

/** URL of `database` on the test server, keeping the server URL's credentials and parameters. */
export function testDatabaseUrl(database: string, serverUrl = TEST_SERVER_URL): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Opens a connection to the test server (no database selected); caller ends it. */
export function connectTestServer(serverUrl = TEST_SERVER_URL): Promise<mariadb.Connection> {
  return mariadb.createConnection(connectionConfig(parseDatabaseUrl(serverUrl), null));
}

/**
 * Creates a fresh database `chat_test_<random hex>` on the test server, fully migrated unless
 * `migrate: false` (for tests of the migration runner itself). `drop()` removes it; call it in
 * afterAll.
 */
export async function createTestDatabase(
  opts: { migrate?: boolean; serverUrl?: string } = {},
): Promise<{
  name: string;
  url: string;
  drop(): Promise<void>;
}> {
  const name = `chat_test_${randomBytes(6).toString("hex")}`;
  const url = testDatabaseUrl(name, opts.serverUrl);
  const drop = async () => {
    const conn = await connectTestServer(opts.serverUrl);
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await conn.end();
    }
  };
  await ensureDatabase(url);
  if (opts.migrate === false) return { name, url, drop };
  try {
    await migrate(url, { log: () => {} });
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url, drop };
}

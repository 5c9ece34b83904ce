import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as mariadb from "mariadb";
import { afterAll, describe, expect, it } from "vitest";
import {
  connectionConfig,
  ensureDatabase,
  migrate,
  parseDatabaseUrl,
} from "../../server/store/migrate/migrate.js";
import { createTestDatabase, testDatabaseUrl } from "../support/db.js";

const MIGRATIONS = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
/** Every committed migration, in the order they apply. */
const ALL: string[] = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const quiet = () => {};

// Every database made here is dropped at the end, even when a test fails.
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(drops.map((drop) => drop()));
});
async function freshDatabase(): Promise<string> {
  const db = await createTestDatabase({ migrate: false });
  drops.push(db.drop);
  return db.url;
}

async function query<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const conn = await mariadb.createConnection(connectionConfig(parseDatabaseUrl(url)));
  try {
    return await conn.query(sql);
  } finally {
    await conn.end();
  }
}
const migrationRows = (url: string) =>
  query(url, "SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name");

/** A temporary migrations directory: the real ones plus `extra` folders (name -> SQL). */
async function migrationsDir(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "migrations-"));
  drops.push(() => rm(dir, { recursive: true, force: true }));
  await cp(MIGRATIONS, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(dir, name), { recursive: true });
    await writeFile(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

describe("migrate", () => {
  it("applies every migration once, in order, and records them as Prisma does", async () => {
    expect(ALL[0]).toBe("20261122000000_init");
    const url = await freshDatabase();
    expect(await migrate(url, { log: quiet })).toEqual({ applied: ALL });

    const rows = await migrationRows(url);
    expect(rows.map((r) => r.migration_name)).toEqual(ALL);
    for (const row of rows) {
      const bytes = await readFile(
        path.join(MIGRATIONS, String(row.migration_name), "migration.sql"),
      );
      expect(row.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(row.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.started_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
    }
    const tables = (await query(url, "SHOW TABLES")).map((t) => Object.values(t)[0]);
    expect(tables).toEqual(expect.arrayContaining(["_prisma_migrations", "sessions", "users"]));

    // Second run: nothing pending, nothing recorded.
    expect(await migrate(url, { log: quiet })).toEqual({ applied: [] });
    expect(await migrationRows(url)).toHaveLength(ALL.length);
  });

  it("records a failed migration and then refuses to run until it is resolved", async () => {
    const url = await freshDatabase();
    const dir = await migrationsDir({
      "20261123000000_broken": "CREATE TABLE `half_done` (`id` INT NOT NULL);\nTHIS IS NOT SQL;\n",
      "20261124000000_later": "CREATE TABLE `later` (`id` INT NOT NULL);\n",
    });
    await expect(migrate(url, { migrationsDir: dir, log: quiet })).rejects.toThrow(
      /20261123000000_broken failed/,
    );
    const failed = (await migrationRows(url)).find(
      (r) => r.migration_name === "20261123000000_broken",
    );
    expect(failed?.finished_at).toBeNull();
    expect(failed?.rolled_back_at).toBeNull();
    expect(Number(failed?.applied_steps_count)).toBe(0);
    expect(String(failed?.logs)).toMatch(/SQL syntax/);

    // Later runs refuse, naming the failed migration, and apply nothing after it.
    await expect(migrate(url, { migrationsDir: dir, log: quiet })).rejects.toThrow(
      /"20261123000000_broken" failed earlier/,
    );
    expect(await query(url, "SHOW TABLES LIKE 'later'")).toHaveLength(0);

    // Once marked rolled back (`prisma migrate resolve --rolled-back`) and fixed, it is re-applied.
    await query(url, "DROP TABLE half_done");
    await query(
      url,
      "UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE finished_at IS NULL",
    );
    await writeFile(
      path.join(dir, "20261123000000_broken", "migration.sql"),
      "CREATE TABLE `half_done` (`id` INT NOT NULL);\n",
    );
    // Real migrations dated after the made-up ones follow them.
    expect(await migrate(url, { migrationsDir: dir, log: quiet })).toEqual({
      applied: [
        "20261123000000_broken",
        "20261124000000_later",
        ...ALL.filter((name) => name > "20261124000000_later"),
      ],
    });
  });

  it("applies each migration once when several instances start at the same time", async () => {
    const url = await freshDatabase();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => migrate(url, { log: quiet })),
    );
    expect(results.flatMap((r) => r.applied)).toEqual(ALL);
    const rows = await migrationRows(url);
    expect(rows.map((r) => r.migration_name)).toEqual(ALL);
    expect(rows[0]?.finished_at).toBeInstanceOf(Date);
  });

  it("warns, without failing, when an applied migration was edited afterwards", async () => {
    const url = await freshDatabase();
    await migrate(url, { log: quiet });
    const dir = await migrationsDir({});
    await writeFile(path.join(dir, ALL[0] as string, "migration.sql"), "-- edited\n", {
      flag: "a",
    });
    const messages: string[] = [];
    expect(await migrate(url, { migrationsDir: dir, log: (m) => messages.push(m) })).toEqual({
      applied: [],
    });
    expect(messages).toEqual([expect.stringMatching(new RegExp(`${ALL[0]}.*checksum differs`))]);
  });
});

describe("ensureDatabase", () => {
  it("creates a missing database once, with utf8mb4_unicode_ci", async () => {
    const name = `chat_test_ensure_${process.pid}_${Date.now()}`;
    const url = testDatabaseUrl(name);
    drops.push(async () => void (await query(url, `DROP DATABASE IF EXISTS \`${name}\``)));
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
    const [schema] = await query(
      url,
      `SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS coll
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`,
    );
    expect(schema).toEqual({ cs: "utf8mb4", coll: "utf8mb4_unicode_ci" });
  });

  it("rejects database names that would need quoting", async () => {
    await expect(ensureDatabase(testDatabaseUrl("bad`name"))).rejects.toThrow(
      /Invalid database name/,
    );
  });
});

describe("parseDatabaseUrl", () => {
  it("URL-decodes credentials and reads Prisma's parameters", () => {
    expect(
      parseDatabaseUrl(
        "mysql://us%40er:p%3Aw%2Fd@[::1]:3307/my_db?connect_timeout=5&connection_limit=3",
      ),
    ).toEqual({
      host: "::1",
      port: 3307,
      user: "us@er",
      password: "p:w/d",
      database: "my_db",
      socketPath: undefined,
      connectTimeoutMs: 5000,
      connectionLimit: 3,
    });
    expect(parseDatabaseUrl("mysql://root@127.0.0.1/chat")).toMatchObject({
      port: 3306,
      password: "",
      database: "chat",
    });
    expect(() => parseDatabaseUrl("postgres://x@y/z")).toThrow(/unsupported scheme/);
  });
});

// Offline runner for the migrations in prisma/migrations.
//
// The Prisma CLI needs a native schema engine that cannot be downloaded on
// every machine, so we apply the committed migrations ourselves and record
// them in `_prisma_migrations` exactly as `prisma migrate deploy` does. Either
// tool can then take over a database the other one migrated.
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as mariadb from "mariadb";
/** Parses a MySQL/MariaDB connection URL the way Prisma reads it (user and password URL-decoded). */
export function parseDatabaseUrl(databaseUrl) {
    let url;
    try {
        url = new URL(databaseUrl);
    }
    catch {
        throw new Error("Invalid database URL: expected mysql://user:password@host:port/database");
    }
    if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") {
        throw new Error(`Invalid database URL: unsupported scheme "${url.protocol}", use mysql://`);
    }
    const intParam = (name) => {
        const raw = url.searchParams.get(name);
        if (raw === null)
            return undefined;
        const value = Number(raw);
        if (!Number.isInteger(value) || value < 0)
            throw new Error(`Invalid database URL: bad ${name}`);
        return value;
    };
    const timeout = intParam("connect_timeout");
    return {
        // WHATWG URL keeps the brackets of IPv6 literals; the driver wants the bare address.
        host: url.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost",
        port: url.port ? Number(url.port) : 3306,
        user: decodeURIComponent(url.username) || "root",
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(url.pathname.replace(/^\//, "")),
        socketPath: url.searchParams.get("socket") ?? undefined,
        connectTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
        connectionLimit: intParam("connection_limit"),
    };
}
/** Driver settings for a parsed URL; `database: null` connects to the server without a database. */
export function connectionConfig(db, database = db.database) {
    return {
        host: db.host,
        port: db.port,
        user: db.user,
        password: db.password,
        ...(database ? { database } : {}),
        ...(db.socketPath ? { socketPath: db.socketPath } : {}),
        ...(db.connectTimeoutMs !== undefined ? { connectTimeout: db.connectTimeoutMs } : {}),
    };
}
/**
 * Creates the URL's database (utf8mb4 / utf8mb4_unicode_ci, as `prisma migrate` does) unless it
 * exists. Returns true if it was created.
 */
export async function ensureDatabase(databaseUrl) {
    const db = parseDatabaseUrl(databaseUrl);
    // The name is interpolated into DDL (identifiers cannot be bound), so allow only safe characters.
    if (!/^[A-Za-z0-9_$-]{1,64}$/.test(db.database)) {
        throw new Error(`Invalid database name "${db.database}" in the database URL`);
    }
    const conn = await mariadb.createConnection(connectionConfig(db, null));
    try {
        const result = await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        // An existing database only raises a note (warning 1007) and affects no rows.
        return result.affectedRows === 1;
    }
    finally {
        await conn.end();
    }
}
// Prisma's own DDL (schema-engine, MySQL flavour), verbatim.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`;
/**
 * prisma/migrations of the checkout or image this file runs from: found by
 * walking up, so the compiled server (dist/server/...) and the sources
 * (server/...) find the same folder.
 */
const DEFAULT_MIGRATIONS_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), "prisma/migrations");
function findUp(from, relative) {
    for (let dir = from;; dir = path.dirname(dir)) {
        const candidate = path.join(dir, relative);
        if (existsSync(candidate))
            return candidate;
        if (path.dirname(dir) === dir)
            return path.resolve(from, "../../..", relative);
    }
}
// Prisma's own advisory lock name, so this runner and `prisma migrate deploy` also exclude each
// other. The lock is server-wide (not per database), which only serializes unrelated migrations.
const LOCK_NAME = "prisma_migrate";
// Generous: a waiting instance must outlast the slowest migration another one is applying.
const LOCK_TIMEOUT_SECONDS = 300;
/**
 * Applies the pending migrations of `migrationsDir` (default prisma/migrations) to the URL's
 * database, recording each in `_prisma_migrations` like `prisma migrate deploy`. Serialized across
 * processes with a MySQL advisory lock. Refuses to run while a failed migration is recorded.
 * `log` (default console.log) receives progress and warnings.
 */
export async function migrate(databaseUrl, opts = {}) {
    const log = opts.log ?? ((msg) => console.log(msg));
    const dir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
    const db = parseDatabaseUrl(databaseUrl);
    if (!db.database)
        throw new Error("The database URL names no database");
    const migrations = await listMigrations(dir);
    // Migration scripts hold several statements; only this private connection may run them.
    const conn = await mariadb.createConnection({
        ...connectionConfig(db),
        multipleStatements: true,
    });
    let locked = false;
    try {
        const [lock] = await conn.query("SELECT GET_LOCK(?, ?) AS ok", [
            LOCK_NAME,
            LOCK_TIMEOUT_SECONDS,
        ]);
        if (Number(lock?.ok) !== 1) {
            throw new Error(`Timed out waiting for the migration lock "${LOCK_NAME}" held by another process`);
        }
        locked = true;
        const [exists] = await conn.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_prisma_migrations'");
        if (Number(exists?.n) === 0)
            await conn.query(CREATE_MIGRATIONS_TABLE);
        const rows = await conn.query("SELECT checksum, migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at");
        const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
        if (failed) {
            throw new Error(`Migration "${failed.migration_name}" failed earlier (see the logs column of _prisma_migrations); ` +
                "no new migrations will be applied. Fix the database by hand, then mark it with " +
                `\`prisma migrate resolve --rolled-back ${failed.migration_name}\` (or --applied) and rerun.`);
        }
        // Rows of rolled-back attempts do not count: Prisma applies such a migration again.
        const done = new Map(rows
            .filter((r) => r.finished_at !== null && r.rolled_back_at === null)
            .map((r) => [r.migration_name, r]));
        for (const name of done.keys()) {
            if (!migrations.includes(name))
                log(`warning: applied migration ${name} is missing from ${dir}`);
        }
        const applied = [];
        for (const name of migrations) {
            const file = path.join(dir, name, "migration.sql");
            const bytes = await readFile(file).catch((err) => {
                throw new Error(`Cannot read ${file}: ${err instanceof Error ? err.message : err}`);
            });
            const checksum = createHash("sha256").update(bytes).digest("hex");
            const row = done.get(name);
            if (row) {
                if (row.checksum !== checksum) {
                    log(`warning: migration ${name} was modified after it was applied (checksum differs)`);
                }
                continue;
            }
            await applyOne(conn, name, bytes.toString("utf8"), checksum);
            log(`applied migration ${name}`);
            applied.push(name);
        }
        return { applied };
    }
    finally {
        if (locked)
            await conn.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]).catch(() => { });
        await conn.end().catch(() => { });
    }
}
/** Migration folder names in the order Prisma applies them (lexicographic). */
async function listMigrations(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    return names.sort(); // UTF-16 code-unit order: the byte order Prisma uses for these ASCII names
}
async function applyOne(conn, name, script, checksum) {
    const id = randomUUID();
    // UTC like Prisma, which stores chrono::Utc timestamps.
    await conn.query("INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name, applied_steps_count) VALUES (?, ?, UTC_TIMESTAMP(3), ?, 0)", [id, checksum, name]);
    try {
        // A script of only comments is valid for Prisma, but the server rejects it as an empty query.
        if (/\S/.test(script.replace(/\/\*[\s\S]*?\*\/|(--|#)[^\n]*/g, "")))
            await conn.query(script);
    }
    catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await conn.query("UPDATE _prisma_migrations SET logs = ? WHERE id = ?", [message, id]);
        // MySQL DDL is not transactional: earlier statements of the script stay applied.
        throw new Error(`Migration ${name} failed and was recorded as failed; statements before the error may have been applied.\n${message}`);
    }
    await conn.query("UPDATE _prisma_migrations SET finished_at = UTC_TIMESTAMP(3), applied_steps_count = applied_steps_count + 1 WHERE id = ?", [id]);
}
//# sourceMappingURL=migrate.js.map
/**
 * Plain-SQL transactions for the send hot path (group commit, see
 * domain/send/send-batcher.ts). Two runners share one interface so the batch code is the
 * same whatever carries it:
 * - {@link poolTransactions}: a dedicated `mariadb` pool; the statements of
 *   one step go as text in one multi-statement query (one write, one round
 *   trip), where Prisma's adapter would PREPARE, EXECUTE and CLOSE each.
 * - {@link prismaTransactions}: Prisma raw queries in an interactive
 *   transaction, one statement at a time; used when no pool is configured.
 */
import * as mariadb from "mariadb";
import { connectionConfig, parseDatabaseUrl } from "./migrate/migrate.js";
/**
 * Creates the send pool for a `mysql://` URL. Statements of one round trip
 * go as one multi-statement query: one write, and the server stops at the
 * first failing statement, so a COMMIT sent along never commits half a
 * batch. Sessions run with autocommit off, so nothing after a failure (a
 * deadlock ends the transaction) can commit on its own either. The caller
 * ends the pool on shutdown. One connection per send lane (domain/send/send-batcher.ts);
 * the URL's `connection_limit` sizes Prisma's pool, not this one.
 */
export function createSendPool(databaseUrl, connectionLimit = 4) {
    const db = parseDatabaseUrl(databaseUrl);
    return mariadb.createPool({
        ...connectionConfig(db),
        connectionLimit,
        // Only ever with `?` placeholders, which the driver escapes.
        multipleStatements: true,
        initSql: [
            "SET SESSION autocommit = 0",
            // Reads after the room lock must see what other writers committed.
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        ],
    });
}
/** A runner over a pool made by {@link createSendPool}. */
export function poolTransactions(pool) {
    return async (fn) => {
        const conn = await pool.getConnection();
        try {
            let committed = false;
            const tx = {
                async run(stmts, opts) {
                    const all = opts?.commit ? [...stmts, { sql: "COMMIT", params: [] }] : stmts;
                    const out = await conn.query(all.map((s) => s.sql).join(";\n"), all.flatMap((s) => s.params));
                    // One statement: its result; several: one result per statement.
                    const results = all.length === 1 ? [out] : out;
                    if (opts?.commit)
                        committed = true;
                    return stmts.map((_, i) => (Array.isArray(results[i]) ? results[i] : []));
                },
            };
            let value;
            try {
                value = await fn(tx);
            }
            catch (err) {
                await conn.query("ROLLBACK").catch(() => { });
                throw err;
            }
            if (!committed)
                await conn.query("COMMIT");
            return value;
        }
        finally {
            await conn.release();
        }
    };
}
/**
 * Options of every Prisma transaction. READ COMMITTED: reads after the room
 * lock must see what other writers committed before it, not the default
 * REPEATABLE READ snapshot. The bounds keep a stuck transaction from
 * holding a room's lock for long.
 */
export const txOptions = {
    isolationLevel: "ReadCommitted",
    timeout: 15_000,
    maxWait: 10_000,
};
/** A runner over Prisma's interactive transactions. */
export function prismaTransactions(prisma) {
    return (fn) => prisma.$transaction((ptx) => fn({
        async run(stmts) {
            // One at a time; Prisma commits when the callback returns.
            const out = [];
            for (const s of stmts)
                out.push(await ptx.$queryRawUnsafe(s.sql, ...s.params));
            return out;
        },
    }), txOptions);
}
/** `n` groups of `width` placeholders: `(?,?),(?,?)`. */
export function placeholders(n, width) {
    const one = `(${Array.from({ length: width }, () => "?").join(",")})`;
    return Array.from({ length: n }, () => one).join(",");
}
/** A DATETIME(3) literal in UTC, as Prisma stores `DateTime` columns. */
export function sqlDateTime(d) {
    return d.toISOString().slice(0, 23).replace("T", " ");
}
//# sourceMappingURL=tx.js.map
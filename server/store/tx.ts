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
import type { PrismaClient } from "../../prisma/generated/client.js";
import { connectionConfig, parseDatabaseUrl } from "./migrate/migrate.js";

/** One SQL statement with `?` placeholders. */
export interface Stmt {
  sql: string;
  params: unknown[];
}

/** A row as the drivers return it: column name to value. */
export type Row = Record<string, unknown>;

/** An open transaction (READ COMMITTED). */
export interface SqlTx {
  /**
   * Runs the statements in order and returns each one's rows (empty for
   * writes). The first failure is thrown, the statements after it do not
   * run, and the runner rolls the transaction back. `commit`: these are the
   * last statements and COMMIT may follow them in the same round trip.
   */
  run(stmts: readonly Stmt[], opts?: { commit?: boolean }): Promise<Row[][]>;
}

/** Runs `fn` in a transaction: COMMIT when it returns, ROLLBACK when it throws. */
export type TxRunner = <T>(fn: (tx: SqlTx) => Promise<T>) => Promise<T>;

/**
 * Creates the send pool for a `mysql://` URL. Statements of one round trip
 * go as one multi-statement query: one write, and the server stops at the
 * first failing statement, so a COMMIT sent along never commits half a
 * batch. Sessions run with autocommit off, so nothing after a failure (a
 * deadlock ends the transaction) can commit on its own either. The caller
 * ends the pool on shutdown. One connection per send lane (domain/send/send-batcher.ts);
 * the URL's `connection_limit` sizes Prisma's pool, not this one.
 */
/** The send hot path's pool (see {@link createSendPool}). */
export type SendPool = mariadb.Pool;

export function createSendPool(databaseUrl: string, connectionLimit = 4): SendPool {
  const db = parseDatabaseUrl(databaseUrl);
  return mariadb.createPool({
    ...connectionConfig(db),
    connectionLimit,
    // Only ever with `?` placeholders, which the driver escapes.
    multipleStatements: true,
    initSql: [
      "SET SESSION autocommit = 0",
      // Rooms are locked with SKIP LOCKED (store/sql/send.ts); this bounds
      // any other wait, such as a key lock of a concurrent insert.
      "SET SESSION innodb_lock_wait_timeout = 10",
      // Reads after the room lock must see what other writers committed.
      "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    ],
  });
}

/** A runner over a pool made by {@link createSendPool}. */
export function poolTransactions(pool: mariadb.Pool): TxRunner {
  return async (fn) => {
    const conn = await pool.getConnection();
    try {
      let committed = false;
      const tx: SqlTx = {
        async run(stmts, opts) {
          const all = opts?.commit ? [...stmts, { sql: "COMMIT", params: [] }] : stmts;
          const out: unknown = await conn.query(
            all.map((s) => s.sql).join(";\n"),
            all.flatMap((s) => s.params),
          );
          // One statement: its result; several: one result per statement.
          const results = all.length === 1 ? [out] : (out as unknown[]);
          if (opts?.commit) committed = true;
          return stmts.map((_, i) => (Array.isArray(results[i]) ? (results[i] as Row[]) : []));
        },
      };
      let value: Awaited<ReturnType<typeof fn>>;
      try {
        value = await fn(tx);
      } catch (err) {
        await conn.query("ROLLBACK").catch(() => {});
        throw err;
      }
      if (!committed) await conn.query("COMMIT");
      return value;
    } finally {
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
} as const;

/** A runner over Prisma's interactive transactions. */
export function prismaTransactions(prisma: PrismaClient): TxRunner {
  return (fn) =>
    prisma.$transaction(
      (ptx) =>
        fn({
          async run(stmts) {
            // One at a time; Prisma commits when the callback returns.
            const out: Row[][] = [];
            for (const s of stmts) out.push(await ptx.$queryRawUnsafe<Row[]>(s.sql, ...s.params));
            return out;
          },
        }),
      txOptions,
    );
}

/** `n` groups of `width` placeholders: `(?,?),(?,?)`. */
export function placeholders(n: number, width: number): string {
  const one = `(${Array.from({ length: width }, () => "?").join(",")})`;
  return Array.from({ length: n }, () => one).join(",");
}

/** A DATETIME(3) literal in UTC, as Prisma stores `DateTime` columns. */
export function sqlDateTime(d: Date): string {
  return d.toISOString().slice(0, 23).replace("T", " ");
}

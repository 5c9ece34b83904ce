/**
 * Recognising database errors, from any of our three ways to MySQL (Prisma
 * with its mariadb adapter, the send pool, a plain connection). Checked by
 * shape: the error classes live in the drivers' runtimes.
 */

/** True for a unique-constraint violation (Prisma P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}

/**
 * MySQL/MariaDB and mariadb-driver error numbers meaning the server cannot
 * be reached or dropped the connection: the next try, elsewhere or later,
 * may work. 2002/2003 cannot connect, 2006/2013 gone away / lost, 1040 too
 * many connections, 1053 shutting down, 1927 connection killed, 45001
 * connection already closed, 45009 socket closed, 45012 connection timeout,
 * 45028 pool timeout.
 */
const unreachableErrnos = new Set([
  1040, 1053, 1927, 2002, 2003, 2006, 2013, 45001, 45009, 45012, 45028,
]);
/** Lock wait timeout and deadlock: the transaction may simply be tried again. */
const contentionErrnos = new Set([1205, 1213]);
/** Prisma's own codes for the same situations. */
const unreachablePrismaCodes = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const contentionPrismaCodes = new Set(["P2034", "P2028"]);
const unreachableNodeCodes =
  /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ER_GET_CONNECTION_TIMEOUT|ER_SOCKET_UNEXPECTED_CLOSE|ER_CONNECTION_ALREADY_CLOSED|ER_CONNECTION_TIMEOUT|ER_CLOSING_POOL|ER_POOL_ALREADY_CLOSED)$/;

/** Error numbers and codes found on an error and the causes it wraps. */
function facts(err: unknown): { errnos: number[]; codes: string[] } {
  const errnos: number[] = [];
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number) => {
    if (typeof e !== "object" || e === null || seen.has(e) || depth > 6) return;
    seen.add(e);
    const o = e as Record<string, unknown>;
    for (const key of ["errno", "code", "originalCode"]) {
      const v = o[key];
      if (typeof v === "number") errnos.push(v);
      else if (typeof v === "string") {
        if (/^\d+$/.test(v)) errnos.push(Number(v));
        else codes.push(v);
      }
    }
    visit(o.cause, depth + 1);
    visit(o.meta, depth + 1);
    visit(o.driverAdapterError, depth + 1);
  };
  visit(err, 0);
  return { errnos, codes };
}

/** True when the database cannot be reached now (down, restarting, connection lost). */
export function isDbUnreachable(err: unknown): boolean {
  const { errnos, codes } = facts(err);
  if (errnos.some((n) => unreachableErrnos.has(n))) return true;
  return codes.some((c) => unreachablePrismaCodes.has(c) || unreachableNodeCodes.test(c));
}

/** True for a deadlock or lock wait timeout: the whole transaction may be tried again. */
export function isTransientTxError(err: unknown): boolean {
  const { errnos, codes } = facts(err);
  if (errnos.some((n) => contentionErrnos.has(n))) return true;
  if (codes.some((c) => contentionPrismaCodes.has(c))) return true;
  const text = typeof err === "object" && err !== null ? String((err as Error).message ?? "") : "";
  return /\b(1213|1205)\b|deadlock/i.test(text);
}

/**
 * True for any database failure a client may safely retry later:
 * unreachable, or contention that outlasted our own retries.
 */
export function isTransientDbError(err: unknown): boolean {
  return isDbUnreachable(err) || isTransientTxError(err);
}

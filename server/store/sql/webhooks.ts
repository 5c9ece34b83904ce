/**
 * Webhook delivery state: the lease that makes one instance deliver to an
 * endpoint, and the rooms with events beyond an endpoint's cursors. Raw
 * because both are single statements Prisma cannot express (a conditional
 * UPDATE with the database's clock; a LEFT JOIN with a computed filter).
 */
import type { Db } from "../prisma.js";

/**
 * Takes or renews the endpoint's lease for `owner` until `ttlMs` from the
 * database's now; false while another instance holds it.
 */
export async function takeWebhookLease(
  db: Db,
  endpointId: bigint,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  const changed = await db.$executeRaw`
    UPDATE webhook_endpoints
    SET lease_owner = ${owner}, lease_until = NOW(3) + INTERVAL ${ttlMs * 1000} MICROSECOND
    WHERE id = ${endpointId} AND paused = FALSE
      AND (lease_owner = ${owner} OR lease_until IS NULL OR lease_until < NOW(3))`;
  return changed > 0;
}

/** Gives the lease up (shutdown), so another instance takes over at once. */
export async function releaseWebhookLeases(db: Db, owner: string): Promise<void> {
  await db.$executeRaw`
    UPDATE webhook_endpoints SET lease_owner = '', lease_until = NULL WHERE lease_owner = ${owner}`;
}

/** A room with events the endpoint has not had. */
export interface WebhookWork {
  roomId: bigint;
  head: bigint;
  lastSeq: bigint;
  pendingUpTo: bigint;
}

/** Up to `limit` rooms with events after the endpoint's cursor, by room id. */
export async function webhookWork(
  db: Db,
  endpointId: bigint,
  limit: number,
): Promise<WebhookWork[]> {
  const rows = await db.$queryRaw<
    { roomId: bigint; head: bigint; lastSeq: bigint | null; pendingUpTo: bigint | null }[]
  >`
    SELECT r.id AS roomId, r.last_seq AS head, c.last_seq AS lastSeq, c.pending_up_to AS pendingUpTo
    FROM rooms r LEFT JOIN webhook_cursors c ON c.endpoint_id = ${endpointId} AND c.room_id = r.id
    WHERE r.last_seq > COALESCE(c.last_seq, 0)
    ORDER BY r.id
    LIMIT ${limit}`;
  return rows.map((r) => ({
    roomId: BigInt(r.roomId),
    head: BigInt(r.head),
    lastSeq: BigInt(r.lastSeq ?? 0),
    pendingUpTo: BigInt(r.pendingUpTo ?? 0),
  }));
}

/** Events not yet delivered to the endpoint, over every room. */
export async function webhookLag(db: Db, endpointId: bigint): Promise<bigint> {
  const rows = await db.$queryRaw<{ lag: bigint | string | null }[]>`
    SELECT SUM(r.last_seq - COALESCE(c.last_seq, 0)) AS lag
    FROM rooms r LEFT JOIN webhook_cursors c ON c.endpoint_id = ${endpointId} AND c.room_id = r.id
    WHERE r.last_seq > COALESCE(c.last_seq, 0)`;
  return BigInt(rows[0]?.lag ?? 0);
}

/** A new endpoint starts at every existing room's head: it gets what happens from now on. */
export async function startWebhookCursors(db: Db, endpointId: bigint): Promise<void> {
  await db.$executeRaw`
    INSERT INTO webhook_cursors (endpoint_id, room_id, last_seq, pending_up_to)
    SELECT ${endpointId}, id, last_seq, 0 FROM rooms`;
}

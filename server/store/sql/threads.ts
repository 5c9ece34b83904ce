/**
 * The SQL of threads (issue 16): who follows a thread (written by the send
 * batch in its last round trip), root summaries and per-thread unread and
 * mention counts, each one grouped query over the (thread_root_id, seq)
 * index of messages.
 */
import { type Db, Prisma } from "../prisma.js";
import { placeholders, type Stmt } from "../tx.js";

/** Repliers follow their thread and have read up to their own reply. */
export function followAsReplier(
  rows: readonly { rootId: bigint; userId: bigint; roomId: bigint; seq: bigint }[],
  at: string,
): Stmt {
  return {
    sql: `INSERT INTO thread_follows (root_id, user_id, room_id, following, last_read_seq, updated_at)
          VALUES ${placeholders(rows.length, 6)}
          ON DUPLICATE KEY UPDATE following = 1,
            last_read_seq = GREATEST(last_read_seq, VALUES(last_read_seq)),
            updated_at = VALUES(updated_at)`,
    params: rows.flatMap((r) => [r.rootId, r.userId, r.roomId, 1, r.seq, at]),
  };
}

/** A root's author follows its thread from the first reply on, unless they left it before. */
export function followAsAuthor(
  rows: readonly { rootId: bigint; userId: bigint; roomId: bigint }[],
  at: string,
): Stmt {
  return {
    sql: `INSERT INTO thread_follows (root_id, user_id, room_id, following, last_read_seq, updated_at)
          VALUES ${placeholders(rows.length, 6)}
          ON DUPLICATE KEY UPDATE root_id = root_id`,
    params: rows.flatMap((r) => [r.rootId, r.userId, r.roomId, 1, 0, at]),
  };
}

/** A root's replies at a glance. */
export interface ThreadSummaryRow {
  rootId: bigint;
  replyCount: number;
  lastReplySeq: bigint;
  lastReplyAt: Date;
}

/** Summaries of the threads of these roots (roots without replies are absent). */
export async function threadSummaries(
  db: Db,
  rootIds: readonly bigint[],
): Promise<ThreadSummaryRow[]> {
  if (rootIds.length === 0) return [];
  const rows = await db.$queryRaw<
    { rootId: bigint; n: bigint | number; lastSeq: bigint; lastAt: Date }[]
  >`
    SELECT thread_root_id AS rootId, COUNT(*) AS n, MAX(seq) AS lastSeq, MAX(created_at) AS lastAt
    FROM messages
    WHERE thread_root_id IN (${Prisma.join([...rootIds])}) AND deleted_at IS NULL
    GROUP BY thread_root_id`;
  return rows.map((r) => ({
    rootId: BigInt(r.rootId),
    replyCount: Number(r.n),
    lastReplySeq: BigInt(r.lastSeq),
    lastReplyAt: r.lastAt,
  }));
}

/** Distinct repliers per root, in order of their first reply. */
export async function threadRepliers(
  db: Db,
  rootIds: readonly bigint[],
): Promise<{ rootId: bigint; userId: bigint }[]> {
  if (rootIds.length === 0) return [];
  const rows = await db.$queryRaw<{ rootId: bigint; userId: bigint }[]>`
    SELECT thread_root_id AS rootId, sender_id AS userId
    FROM messages
    WHERE thread_root_id IN (${Prisma.join([...rootIds])}) AND sender_id IS NOT NULL
    GROUP BY thread_root_id, sender_id
    ORDER BY thread_root_id, MIN(seq)`;
  return rows.map((r) => ({ rootId: BigInt(r.rootId), userId: BigInt(r.userId) }));
}

/**
 * Per thread, replies after the marker that count as unread (not deleted,
 * not the user's own), and mentions of the user among them.
 */
export async function threadUnread(
  db: Db,
  userId: bigint,
  markers: readonly { rootId: bigint; lastReadSeq: bigint }[],
): Promise<Map<bigint, { unread: number; mentions: number }>> {
  const out = new Map<bigint, { unread: number; mentions: number }>();
  if (markers.length === 0) return out;
  const ranges = Prisma.join(
    markers.map((m) => Prisma.sql`(m.thread_root_id = ${m.rootId} AND m.seq > ${m.lastReadSeq})`),
    " OR ",
  );
  const rows = await db.$queryRaw<{ rootId: bigint; n: bigint | number; k: bigint | number }[]>`
    SELECT m.thread_root_id AS rootId, COUNT(*) AS n,
      SUM(EXISTS (SELECT 1 FROM mentions x WHERE x.message_id = m.id AND x.user_id = ${userId})) AS k
    FROM messages m
    WHERE (${ranges}) AND m.deleted_at IS NULL
      AND (m.sender_id IS NULL OR m.sender_id <> ${userId})
    GROUP BY m.thread_root_id`;
  for (const r of rows) {
    out.set(BigInt(r.rootId), { unread: Number(r.n), mentions: Number(r.k ?? 0) });
  }
  return out;
}

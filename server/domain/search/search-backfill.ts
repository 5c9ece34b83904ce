/**
 * Search tokens for messages stored before they existed, or stored in the
 * format before room-scoped tokens (docs/search.md "Backfill"): `npm run
 * admin -- search backfill`. It walks the messages by id in windows, so
 * each statement reads a bounded range of the primary key, and writes a
 * window's tokens in one short transaction.
 *
 * Resumable and safe beside a running server: what still needs tokens is
 * told by the row itself (a TEXT message, not deleted, whose tokens are
 * null or lack the room prefix `r`), so a second run, or a run stopped
 * half-way and started again, only redoes what is not done; `afterId`
 * skips ahead. Each row is written only if it still needs it when written
 * (same predicate in the UPDATE), so an edit or deletion committed between
 * the read and the write keeps its own tokens.
 */

import { type Db, Prisma, type PrismaClient } from "../../store/prisma.js";
import { indexTokens } from "./search-tokens.js";

/** Rows that need tokens: the same condition for the read and the guarded write. */
const needsTokens = Prisma.sql`kind = 'TEXT' AND deleted_at IS NULL
  AND (search_tokens IS NULL OR (search_tokens <> '' AND search_tokens NOT LIKE 'r%'))`;

/** How far a run got. */
export interface BackfillProgress {
  /** Messages given tokens so far in this run. */
  written: number;
  /** Highest id examined: start the next run after it to skip what was examined. */
  lastId: bigint;
  /** Highest id when the run started; later messages were sent with tokens. */
  maxId: bigint;
}

/** Options of {@link backfillSearchTokens}. */
export interface BackfillOptions {
  /** Start after this id (0: from the first message). */
  afterId?: bigint;
  /** Ids examined per window (one read, one write transaction). Default 2000. */
  window?: number;
  /** Called after each window (progress output, tests). */
  onWindow?: (p: BackfillProgress) => void;
  /** Stops after the current window once aborted. */
  signal?: AbortSignal;
}

/** Gives tokens to every message that needs them; returns the progress at the end. */
export async function backfillSearchTokens(
  prisma: PrismaClient,
  opts: BackfillOptions = {},
): Promise<BackfillProgress> {
  const window = BigInt(opts.window ?? 2000);
  const top = await prisma.$queryRaw<{ id: bigint | number | null }[]>`
    SELECT MAX(id) AS id FROM messages`;
  const maxId = BigInt(top[0]?.id ?? 0);
  const p: BackfillProgress = { written: 0, lastId: opts.afterId ?? 0n, maxId };
  while (p.lastId < maxId && !opts.signal?.aborted) {
    const from = p.lastId;
    const to = from + window < maxId ? from + window : maxId;
    const rows = await prisma.$queryRaw<
      { id: bigint | number; roomId: bigint | number; text: string }[]
    >`SELECT id, room_id AS roomId, text FROM messages
      WHERE id > ${from} AND id <= ${to} AND ${needsTokens} ORDER BY id`;
    if (rows.length > 0) {
      p.written += await prisma.$transaction((tx) => writeTokens(tx, rows));
    }
    p.lastId = to;
    opts.onWindow?.({ ...p });
  }
  return p;
}

async function writeTokens(
  tx: Db,
  rows: readonly { id: bigint | number; roomId: bigint | number; text: string }[],
): Promise<number> {
  let n = 0;
  for (const r of rows) {
    const tokens = indexTokens(r.text, BigInt(r.roomId));
    n += await tx.$executeRaw`UPDATE messages SET search_tokens = ${tokens}
      WHERE id = ${BigInt(r.id)} AND ${needsTokens}`;
  }
  return n;
}

/**
 * The FULLTEXT query of message search (domain/search/): InnoDB boolean
 * mode over `messages.search_tokens`, restricted to what the caller may
 * read. Prisma cannot express MATCH ... AGAINST, hence raw SQL here.
 */
import { type Db, Prisma } from "../prisma.js";

/** Where and how to look. */
export interface SearchScope {
  /**
   * Boolean-mode expressions over room-scoped tokens
   * (domain/search/search-tokens.ts booleanExpression), one per group of
   * rooms: each names the rooms it searches, so InnoDB reads only their
   * postings. One query per expression, merged (see searchCandidates).
   */
  expressions: string[];
  /** Rooms the caller is a JOINED member of (when `roomId` is unset). */
  userId: bigint;
  /** One room the caller may read; its membership is checked by the caller of this. */
  roomId?: bigint;
  senderId?: bigint;
  /** created_at >= after. */
  after?: Date;
  /** created_at < before. */
  before?: Date;
  /** true: only messages with an attachment (uploads.message_id); false: only without. */
  hasAttachment?: boolean;
  /** true: only thread replies (thread_root_id set); false: only messages outside threads. */
  inThread?: boolean;
  order: "relevance" | "date";
}

/** One candidate: the message and its score. */
export interface SearchCandidate {
  id: bigint;
  score: number;
}

/**
 * One batch of candidates in the order asked for. Relevance pages by
 * offset (scores are floats, a keyset over them would be fragile); date
 * pages by id (ids grow with time), below `beforeId`.
 *
 * Each expression (group of rooms) is one query; their rows are merged.
 * By date: each gives its `limit` newest below the cursor, the merge keeps
 * the `limit` newest of all. By relevance: a message's score depends only
 * on the terms of its own room (the other rooms' terms are not in it), so
 * scores compare across groups; each gives its best `offset + limit`, the
 * merge keeps ranks offset..offset+limit. A single group is one query, as
 * before.
 */
export async function searchCandidates(
  db: Db,
  s: SearchScope,
  cursor: { offset: number } | { beforeId: bigint | undefined },
  limit: number,
): Promise<SearchCandidate[]> {
  const offset = "offset" in cursor ? cursor.offset : 0;
  if (s.expressions.length === 1) {
    return groupCandidates(db, s, s.expressions[0] as string, cursor, limit, offset);
  }
  const all: SearchCandidate[] = [];
  for (const e of s.expressions) {
    all.push(...(await groupCandidates(db, s, e, cursor, offset + limit, 0)));
  }
  const byId = (a: SearchCandidate, b: SearchCandidate) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  all.sort(s.order === "relevance" ? (a, b) => b.score - a.score || byId(a, b) : byId);
  return all.slice(offset, offset + limit);
}

/** The candidates of one group of rooms. */
async function groupCandidates(
  db: Db,
  s: SearchScope,
  expression: string,
  cursor: { offset: number } | { beforeId: bigint | undefined },
  limit: number,
  offset: number,
): Promise<SearchCandidate[]> {
  const match = Prisma.sql`MATCH(m.search_tokens) AGAINST (${expression} IN BOOLEAN MODE)`;
  const conds: Prisma.Sql[] = [match, Prisma.sql`m.deleted_at IS NULL`];
  if (s.roomId !== undefined) conds.push(Prisma.sql`m.room_id = ${s.roomId}`);
  if (s.senderId !== undefined) conds.push(Prisma.sql`m.sender_id = ${s.senderId}`);
  if (s.after) conds.push(Prisma.sql`m.created_at >= ${s.after}`);
  if (s.before) conds.push(Prisma.sql`m.created_at < ${s.before}`);
  // uploads(message_id) is indexed: one probe per candidate. Attachments are
  // set in the send's transaction and never move, so no race with the text.
  if (s.hasAttachment !== undefined) {
    const exists = Prisma.sql`EXISTS (SELECT 1 FROM uploads u WHERE u.message_id = m.id)`;
    conds.push(s.hasAttachment ? exists : Prisma.sql`NOT ${exists}`);
  }
  // A thread's root is not "in" the thread: only replies carry thread_root_id.
  if (s.inThread !== undefined) {
    conds.push(
      s.inThread ? Prisma.sql`m.thread_root_id IS NOT NULL` : Prisma.sql`m.thread_root_id IS NULL`,
    );
  }
  if ("beforeId" in cursor && cursor.beforeId !== undefined) {
    conds.push(Prisma.sql`m.id < ${cursor.beforeId}`);
  }
  // Without a room: only rooms the caller is a member of now (left, kicked
  // and banned rows have other states).
  const members =
    s.roomId === undefined
      ? Prisma.sql`JOIN memberships ms ON ms.room_id = m.room_id AND ms.user_id = ${s.userId} AND ms.state = 'JOINED'`
      : Prisma.empty;
  const order =
    s.order === "relevance"
      ? Prisma.sql`ORDER BY score DESC, m.id DESC`
      : Prisma.sql`ORDER BY m.id DESC`;
  const rows = await db.$queryRaw<{ id: bigint | number; score: number | string }[]>`
    SELECT m.id, ${match} AS score
    FROM messages m ${members}
    WHERE ${Prisma.join(conds, " AND ")}
    ${order}
    LIMIT ${limit} OFFSET ${offset}`;
  return rows.map((r) => ({ id: BigInt(r.id), score: Number(r.score) }));
}

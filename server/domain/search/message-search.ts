/**
 * Message search: who may find what, and the pages of hits. The index
 * (store/sql/search.ts) proposes candidates; each is checked against its
 * current text ({@link matchesQuery}) before it becomes a hit, so a
 * substring of Chinese text is found only where it really is.
 */
import type { Message } from "../../../gen/chat/v1/message_pb.js";
import { invalidArgument } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { type SearchScope, searchCandidates } from "../../store/sql/search.js";
import { readableRoom } from "../access.js";
import { type MessageRow, messageSelect, viewMessages } from "../message-view.js";
import { decodePageToken, encodePageToken } from "../pagination.js";
import { type Snippet, snippetOf } from "./search-snippet.js";
import { booleanExpression, matchesQuery, parseQuery } from "./search-tokens.js";

/** A search, its input already validated by the contract. */
export interface MessageSearch {
  userId: bigint;
  query: string;
  /** 0n: every room the caller is a member of. */
  roomId: bigint;
  /** 0n: anyone. */
  senderId: bigint;
  after?: Date;
  before?: Date;
  /** Unset: either; true: with an attachment; false: without. */
  hasAttachment?: boolean;
  /** Unset: either; true: thread replies only; false: outside threads only. */
  inThread?: boolean;
  order: "relevance" | "date";
  pageSize: number;
  pageToken: string;
  /** Rooms named per query (default {@link roomsPerQuery}); tests set it low. */
  roomsPerQuery?: number;
}

/**
 * Rooms named in one FULLTEXT query. InnoDB's cost of a required group
 * grows faster than its number of alternatives: at 1M messages a member of
 * all 1,000 rooms waited 21 s for `今天天气很好` in one query, and a group
 * of 100 rooms took 0.36 s (docs/search.md).
 */
export const roomsPerQuery = 100;

/** One hit. */
export interface SearchHitView {
  message: Message;
  snippet: Snippet;
  score: number;
}

/** Candidates read per round trip; a page needs more only when many fail the text check. */
const batchSize = 100;
/** Candidates examined per call at most: a page may come back short, with a token to go on. */
export const maxScannedPerCall = 2000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type Cursor = { offset: number } | { beforeId: bigint | undefined };

function decodeCursor(token: string, order: MessageSearch["order"]): Cursor {
  const text = decodePageToken(token);
  if (text === undefined) return order === "relevance" ? { offset: 0 } : { beforeId: undefined };
  const m = /^s([rd]):(\d{1,20})$/.exec(text);
  if (!m?.[2] || (m[1] === "r") !== (order === "relevance")) {
    throw invalidArgument([
      {
        field: "page_token",
        description: "is not a page token of this search (same query, filters and order)",
      },
    ]);
  }
  return m[1] === "r" ? { offset: Number(m[2]) } : { beforeId: BigInt(m[2]) };
}

function encodeCursor(c: Cursor): string {
  return encodePageToken("offset" in c ? `sr:${c.offset}` : `sd:${c.beforeId ?? 0n}`);
}

/**
 * A page of hits and the token of the next one ("" at the end). Throws
 * InvalidArgument for a query with nothing to look up, NotFound for a room
 * the caller may not read.
 */
export async function searchMessages(
  prisma: PrismaClient,
  s: MessageSearch,
): Promise<{ hits: SearchHitView[]; nextPageToken: string }> {
  const q = parseQuery(s.query);
  if (!q) {
    throw invalidArgument([
      {
        field: "query",
        description: "needs a word, or two or more Chinese, Japanese or Korean characters in a row",
      },
    ]);
  }
  if (s.after && s.before && s.after >= s.before) {
    throw invalidArgument([{ field: "before_time", description: "must be after after_time" }]);
  }
  let cursor = decodeCursor(s.pageToken, s.order);
  // A room given: the caller must be able to read it now (NotFound otherwise).
  // None: the rooms they are a JOINED member of now. The expression names
  // exactly these rooms (room-scoped tokens); the query joins memberships
  // as well, so a room left between the two reads is not searched either.
  let rooms: bigint[];
  if (s.roomId !== 0n) {
    await readableRoom(prisma, s.roomId, s.userId);
    rooms = [s.roomId];
  } else {
    const joined = await prisma.membership.findMany({
      where: { userId: s.userId, state: "JOINED" },
      select: { roomId: true },
    });
    rooms = joined.map((m) => m.roomId);
    if (rooms.length === 0) return { hits: [], nextPageToken: "" };
  }
  const scope: SearchScope = {
    expressions: chunks(rooms, s.roomsPerQuery ?? roomsPerQuery).map((g) =>
      booleanExpression(q, g),
    ),
    userId: s.userId,
    order: s.order,
    ...(s.roomId !== 0n && { roomId: s.roomId }),
    ...(s.senderId !== 0n && { senderId: s.senderId }),
    ...(s.after && { after: s.after }),
    ...(s.before && { before: s.before }),
    ...(s.hasAttachment !== undefined && { hasAttachment: s.hasAttachment }),
    ...(s.inThread !== undefined && { inThread: s.inThread }),
  };

  const found: { row: MessageRow; score: number }[] = [];
  let scanned = 0;
  let done = false;
  while (found.length < s.pageSize && scanned < maxScannedPerCall) {
    const batch = await searchCandidates(prisma, scope, cursor, batchSize);
    const rows = await prisma.message.findMany({
      where: { id: { in: batch.map((c) => c.id) } },
      select: messageSelect,
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    let taken = 0;
    for (const c of batch) {
      taken++;
      const row = byId.get(c.id);
      // Deleted or edited between the two reads, or the index's bigrams
      // are there but not the substring: not a hit.
      if (row && row.deletedAt === null && matchesQuery(row.text, q)) {
        found.push({ row, score: c.score });
        if (found.length === s.pageSize) break;
      }
    }
    scanned += taken;
    const last = batch[taken - 1];
    if ("offset" in cursor) cursor = { offset: cursor.offset + taken };
    else if (last) cursor = { beforeId: last.id };
    if (taken === batch.length && batch.length < batchSize) {
      done = true;
      break;
    }
  }
  const messages = await viewMessages(
    prisma,
    found.map((f) => f.row),
    s.userId,
  );
  const hits = found.map((f, i) => ({
    message: messages[i] as Message,
    snippet: snippetOf(f.row.text, q),
    score: f.score,
  }));
  return { hits, nextPageToken: done ? "" : encodeCursor(cursor) };
}

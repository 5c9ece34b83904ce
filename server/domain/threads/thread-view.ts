/**
 * What a thread's root shows of its replies (chat.v1.ThreadSummary):
 * computed when read, from the (thread_root_id, seq) index, so a reply
 * writes nothing beyond its own message and its followers, and an edit or
 * delete of a reply is reflected at once.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type ThreadSummary, ThreadSummarySchema } from "../../../gen/chat/v1/message_pb.js";
import type { Db } from "../../store/prisma.js";
import { threadRepliers, threadSummaries } from "../../store/sql/threads.js";

/** Participants shown per thread. */
export const maxParticipants = 20;

/**
 * Summaries of the threads rooted at `roots` (id and author), by root id;
 * roots without replies are absent. Two queries.
 */
export async function loadThreadSummaries(
  db: Db,
  roots: readonly { id: bigint; senderId: bigint | null }[],
): Promise<Map<bigint, ThreadSummary>> {
  const out = new Map<bigint, ThreadSummary>();
  if (roots.length === 0) return out;
  const ids = roots.map((r) => r.id);
  const summaries = await threadSummaries(db, ids);
  if (summaries.length === 0) return out;
  const repliers = await threadRepliers(
    db,
    summaries.map((s) => s.rootId),
  );
  const authors = new Map(roots.map((r) => [r.id, r.senderId]));
  const people = new Map<bigint, bigint[]>();
  for (const r of repliers) {
    let list = people.get(r.rootId);
    if (!list) {
      const author = authors.get(r.rootId);
      list = author ? [author] : [];
      people.set(r.rootId, list);
    }
    if (!list.includes(r.userId)) list.push(r.userId);
  }
  for (const s of summaries) {
    out.set(
      s.rootId,
      create(ThreadSummarySchema, {
        replyCount: s.replyCount,
        lastReplySeq: s.lastReplySeq,
        lastReplyTime: timestampFromDate(s.lastReplyAt),
        participantIds: (people.get(s.rootId) ?? []).slice(0, maxParticipants),
      }),
    );
  }
  return out;
}

/** Thread helpers: live reply counts and a thread's replies from fetched pages and the feed. */
import type { Message } from "@protochat/sdk";

/**
 * Replies a root has: its summary as loaded, plus replies the feed brought
 * after the summary's latest reply.
 */
export function liveReplyCount(root: Message, roomMessages: readonly Message[]): number {
  const base = root.thread?.replyCount ?? 0;
  const after = root.thread?.lastReplySeq ?? 0n;
  let extra = 0;
  for (const m of roomMessages) {
    if (m.threadRootId === root.id && m.seq > after && !m.deleted) extra++;
  }
  return base + extra;
}

/** The thread's replies: the fetched ones and the room's, newest state wins, by sequence. */
export function mergeReplies(
  rootId: bigint,
  fetched: readonly Message[],
  roomMessages: readonly Message[],
): Message[] {
  const byId = new Map<bigint, Message>();
  for (const m of fetched) byId.set(m.id, m);
  for (const m of roomMessages) if (m.threadRootId === rootId) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
}

/** The newest reply's sequence (0 when none). */
export function lastSeq(replies: readonly Message[]): bigint {
  let max = 0n;
  for (const m of replies) if (m.seq > max) max = m.seq;
  return max;
}

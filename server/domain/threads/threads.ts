/**
 * Threads as their readers see them: a root message anyone who may read
 * its room may open (everyone else: NotFound), its replies by sequence, and
 * each user's place in it (following, read marker, unread and mention
 * counts). Replies themselves are written by the send path
 * (domain/send/send-batch.ts), which also makes their authors follow.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "../../../gen/chat/v1/message_pb.js";
import { type ThreadState, ThreadStateSchema } from "../../../gen/chat/v1/thread_pb.js";
import type { PrismaClient } from "../../store/prisma.js";
import { threadUnread } from "../../store/sql/threads.js";
import { readableRoom } from "../access.js";
import { type MessageRow, messageSelect, viewMessages } from "../message-view.js";

/** The error for a thread the caller may not see (or that does not exist). */
export function threadNotFound(): ConnectError {
  return new ConnectError("thread not found", Code.NotFound);
}

/** Most threads a follower list considers (the newest followed first). */
const followedScan = 500;

/** Thread reads and markers of one server. */
export class Threads {
  constructor(private readonly prisma: PrismaClient) {}

  /** The root of a thread the user may read, and its room's latest sequence. */
  async root(userId: bigint, rootId: bigint): Promise<{ row: MessageRow; lastSeq: bigint }> {
    const row = await this.prisma.message.findUnique({
      where: { id: rootId },
      select: messageSelect,
    });
    if (!row || row.threadRootId !== null || row.kind === "SYSTEM") throw threadNotFound();
    try {
      const { room } = await readableRoom(this.prisma, row.roomId, userId);
      return { row, lastSeq: room.lastSeq };
    } catch (err) {
      if (ConnectError.from(err).code === Code.NotFound) throw threadNotFound();
      throw err;
    }
  }

  /** The root and a page of replies after `afterSeq`, ascending. */
  async page(
    userId: bigint,
    rootId: bigint,
    afterSeq: bigint,
    limit: number,
  ): Promise<{ root: Message; replies: Message[]; hasMore: boolean; following: boolean }> {
    const { row, lastSeq } = await this.root(userId, rootId);
    const [rows, follow] = await Promise.all([
      this.prisma.message.findMany({
        where: { threadRootId: rootId, seq: { gt: afterSeq, lte: lastSeq } },
        orderBy: { seq: "asc" },
        take: limit + 1,
        select: messageSelect,
      }),
      this.prisma.threadFollow.findUnique({
        where: { rootId_userId: { rootId, userId } },
        select: { following: true },
      }),
    ]);
    const hasMore = rows.length > limit;
    const [root, ...replies] = await viewMessages(
      this.prisma,
      [row, ...rows.slice(0, limit)],
      userId,
    );
    return { root: root as Message, replies, hasMore, following: follow?.following ?? false };
  }

  /**
   * Moves the user's marker forward to `seq` (capped at the room's latest).
   * A first read follows the thread; an unfollowed thread stays unfollowed
   * (reading is not taking part, and a client that keeps a thread open
   * marks it read as replies come).
   */
  async markRead(userId: bigint, rootId: bigint, seq: bigint): Promise<ThreadState> {
    const { row, lastSeq } = await this.root(userId, rootId);
    const to = seq > lastSeq ? lastSeq : seq;
    await this.prisma.$transaction(async (tx) => {
      const found = await tx.threadFollow.findUnique({
        where: { rootId_userId: { rootId, userId } },
        select: { lastReadSeq: true },
      });
      if (!found) {
        await tx.threadFollow.create({
          data: { rootId, userId, roomId: row.roomId, lastReadSeq: to },
        });
      } else {
        // Never back.
        if (found.lastReadSeq < to) {
          await tx.threadFollow.update({
            where: { rootId_userId: { rootId, userId } },
            data: { lastReadSeq: to },
          });
        }
      }
    });
    const [state] = await this.states(userId, [rootId]);
    return state as ThreadState;
  }

  /** Follows or unfollows; the marker is kept. */
  async setFollowing(userId: bigint, rootId: bigint, following: boolean): Promise<void> {
    const { row } = await this.root(userId, rootId);
    await this.prisma.threadFollow.upsert({
      where: { rootId_userId: { rootId, userId } },
      create: { rootId, userId, roomId: row.roomId, following },
      update: { following },
    });
  }

  /** The threads the user follows and may still read: unread first, then latest reply first. */
  async followed(userId: bigint, limit: number): Promise<ThreadState[]> {
    const follows = await this.prisma.threadFollow.findMany({
      where: { userId, following: true },
      orderBy: { updatedAt: "desc" },
      take: followedScan,
      select: { rootId: true, roomId: true },
    });
    const readable = new Set<bigint>();
    for (const roomId of new Set(follows.map((f) => f.roomId))) {
      const ok = await readableRoom(this.prisma, roomId, userId).then(
        () => true,
        () => false,
      );
      if (ok) readable.add(roomId);
    }
    const states = await this.states(
      userId,
      follows.filter((f) => readable.has(f.roomId)).map((f) => f.rootId),
    );
    const last = (s: ThreadState) => s.root?.thread?.lastReplySeq ?? 0n;
    states.sort((x, y) => {
      const ux = x.unreadCount > 0 ? 1 : 0;
      const uy = y.unreadCount > 0 ? 1 : 0;
      if (ux !== uy) return uy - ux;
      const a = x.root?.thread?.lastReplyTime?.seconds ?? 0n;
      const b = y.root?.thread?.lastReplyTime?.seconds ?? 0n;
      if (a !== b) return a > b ? -1 : 1;
      return last(x) > last(y) ? -1 : last(x) < last(y) ? 1 : 0;
    });
    return states.slice(0, limit);
  }

  /** The user's state in each thread (roots that no longer exist are left out). */
  private async states(userId: bigint, rootIds: bigint[]): Promise<ThreadState[]> {
    if (rootIds.length === 0) return [];
    const [rows, markers] = await Promise.all([
      this.prisma.message.findMany({ where: { id: { in: rootIds } }, select: messageSelect }),
      this.prisma.threadFollow.findMany({
        where: { userId, rootId: { in: rootIds } },
        select: { rootId: true, lastReadSeq: true, following: true },
      }),
    ]);
    const marks = new Map(markers.map((m) => [m.rootId, m.lastReadSeq]));
    const follows = new Set(markers.filter((m) => m.following).map((m) => m.rootId));
    const counts = await threadUnread(
      this.prisma,
      userId,
      rows.map((r) => ({ rootId: r.id, lastReadSeq: marks.get(r.id) ?? 0n })),
    );
    const views = await viewMessages(this.prisma, rows, userId);
    return views.map((root) =>
      create(ThreadStateSchema, {
        root,
        lastReadSeq: marks.get(root.id) ?? 0n,
        unreadCount: counts.get(root.id)?.unread ?? 0,
        mentionCount: counts.get(root.id)?.mentions ?? 0,
        following: follows.has(root.id),
      }),
    );
  }
}

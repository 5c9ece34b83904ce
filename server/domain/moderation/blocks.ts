/**
 * Blocks between users (docs/limits.md, "Block"). A block is one user's
 * private decision about another:
 * - the blocked user can no longer add the blocker to a room, group or
 *   direct conversation, nor invite them: consent.ts answers them as if the
 *   blocker's add policy were "nobody" (reported as invited) and no
 *   invitation is recorded, so the answer alone does not tell them;
 * - neither of the two can send in their direct conversation (the send
 *   batch reads it under the room's lock: store/sql/send.ts);
 * - messages are not rewritten per reader: feeds are encoded once per room,
 *   so clients collapse the messages of the users ListBlockedUsers returns.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { chatError, invalidArgument } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { quotaExceeded } from "../limits/rate-limits.js";
import type { Tx } from "../room-change.js";
import { type UserRow, userSelect } from "../user-view.js";

/** Most blocks one user may hold (ListBlockedUsers returns them all in one page). */
export const maxBlocksPerUser = 1000;

/**
 * Blocks `blockedId` for `blockerId` (idempotent) and declines the blocked
 * user's pending invitations of the blocker, in one transaction.
 */
export async function blockUser(
  prisma: PrismaClient,
  blockerId: bigint,
  blockedId: bigint,
  now: Date,
): Promise<void> {
  if (blockerId === blockedId) {
    throw invalidArgument([{ field: "user_id", description: "is you: you cannot block yourself" }]);
  }
  const user = await prisma.user.findUnique({ where: { id: blockedId }, select: { id: true } });
  if (!user) throw new ConnectError("user not found", Code.NotFound);
  await prisma.$transaction(async (tx) => {
    const existing = await tx.userBlock.findUnique({
      where: { blockerId_blockedId: { blockerId, blockedId } },
      select: { blockerId: true },
    });
    if (existing) return;
    const count = await tx.userBlock.count({ where: { blockerId } });
    if (count >= maxBlocksPerUser) {
      throw quotaExceeded(`you can block at most ${maxBlocksPerUser} users: unblock someone first`);
    }
    // Two concurrent blocks of the same user: the second insert is skipped.
    await tx.userBlock.createMany({
      data: [{ blockerId, blockedId, createdAt: now }],
      skipDuplicates: true,
    });
    await tx.invitation.updateMany({
      where: { inviterId: blockedId, inviteeId: blockerId, state: "PENDING" },
      data: { state: "DECLINED", decidedAt: now },
    });
  });
}

/** Removes a block (idempotent; unknown users included). */
export async function unblockUser(
  prisma: PrismaClient,
  blockerId: bigint,
  blockedId: bigint,
): Promise<void> {
  await prisma.userBlock.deleteMany({ where: { blockerId, blockedId } });
}

/** The users `blockerId` blocked, newest first. */
export async function listBlocked(
  prisma: PrismaClient,
  blockerId: bigint,
): Promise<{ user: UserRow; createdAt: Date }[]> {
  const rows = await prisma.userBlock.findMany({
    where: { blockerId },
    orderBy: [{ createdAt: "desc" }, { blockedId: "desc" }],
    take: maxBlocksPerUser,
    select: { blockedId: true, createdAt: true },
  });
  if (rows.length === 0) return [];
  const users = await prisma.user.findMany({
    where: { id: { in: rows.map((r) => r.blockedId) } },
    select: userSelect,
  });
  const byId = new Map(users.map((u) => [u.id, u]));
  return rows.flatMap((r) => {
    const user = byId.get(r.blockedId);
    return user ? [{ user, createdAt: r.createdAt }] : [];
  });
}

/** Which of `targetIds` blocked `actorId`. */
export async function blockersOf(
  db: PrismaClient | Tx,
  actorId: bigint,
  targetIds: readonly bigint[],
): Promise<Set<bigint>> {
  if (targetIds.length === 0) return new Set();
  const rows = await db.userBlock.findMany({
    where: { blockedId: actorId, blockerId: { in: [...targetIds] } },
    select: { blockerId: true },
  });
  return new Set(rows.map((r) => r.blockerId));
}

/**
 * Throws PERMISSION_DENIED (reason BLOCKED) for a send in a direct
 * conversation where `blockerId` (not null) blocked the other person. The
 * blocked sender learns only that they cannot write here, which they would
 * notice anyway; the blocker is told why.
 */
export function requireNotBlocked(blockerId: bigint | null, senderId: bigint): void {
  if (blockerId === null) return;
  throw chatError(
    Code.PermissionDenied,
    blockerId === senderId
      ? "you blocked this user: unblock them to write to them"
      : "you cannot send messages in this conversation",
    ErrorReason.BLOCKED,
  );
}

/**
 * Consent before anyone is added to a conversation (docs/limits.md,
 * "Consent"). Each user's `who_may_add` (or the server's default) decides
 * whether an add goes through or becomes an invitation:
 * - ANYONE: added;
 * - SHARED_ROOM: added by someone they share a joined room with now,
 *   otherwise invited;
 * - NOBODY: always invited.
 * A user who blocked the actor (moderation/blocks.ts) is answered as NOBODY
 * whatever their policy, and the invitation is not recorded: the actor sees
 * "invited" as for anyone who lets nobody add them, the blocker sees nothing.
 * Invitations are accepted (a join, with its room event) or declined by the
 * invitee alone. Exported for other services (an admin API may add people
 * on purpose, bypassing this).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { AddPolicyName } from "../../config.js";
import { defaults } from "../../config.js";
import type { PrismaClient } from "../../store/prisma.js";
import { blockersOf } from "../moderation/blocks.js";
import type { RoomChange } from "../room-change.js";

export type { AddPolicyName } from "../../config.js";

/** The server's default for users who never chose (DEFAULT_WHO_MAY_ADD). */
export const defaultAddPolicy: AddPolicyName = defaults.defaultWhoMayAdd;

/** Which of `targetIds` `actorId` may add now, and which must be invited instead. */
export interface ConsentSplit {
  /** Added directly (unknown ids are here too, for the caller's own not-found check). */
  add: bigint[];
  /** Invited instead. */
  ask: bigint[];
}

/**
 * Splits `targetIds` by their add policy. Read outside the room's
 * transaction: a policy or a shared room that changes meanwhile decides the
 * next add, not this one.
 */
export async function splitByConsent(
  prisma: PrismaClient,
  actorId: bigint,
  targetIds: readonly bigint[],
  fallback: AddPolicyName = defaultAddPolicy,
): Promise<ConsentSplit> {
  if (targetIds.length === 0) return { add: [], ask: [] };
  const users = await prisma.user.findMany({
    where: { id: { in: [...targetIds] } },
    select: { id: true, whoMayAdd: true },
  });
  const policy = new Map<bigint, AddPolicyName>(users.map((u) => [u.id, u.whoMayAdd ?? fallback]));
  for (const id of await blockersOf(prisma, actorId, targetIds)) policy.set(id, "NOBODY");
  const needShared = targetIds.filter((id) => policy.get(id) === "SHARED_ROOM");
  const shared = new Set<bigint>();
  if (needShared.length > 0) {
    const rows = await prisma.membership.findMany({
      where: {
        userId: { in: needShared },
        state: "JOINED",
        room: { memberships: { some: { userId: actorId, state: "JOINED" } } },
      },
      select: { userId: true },
      distinct: ["userId"],
    });
    for (const r of rows) shared.add(r.userId);
  }
  const add: bigint[] = [];
  const ask: bigint[] = [];
  for (const id of targetIds) {
    const p = policy.get(id);
    if (p === undefined || p === "ANYONE" || (p === "SHARED_ROOM" && shared.has(id))) add.push(id);
    else ask.push(id);
  }
  return { add, ask };
}

/**
 * Records invitations of `inviteeIds` to the changing room by `inviterId`,
 * in the room's transaction: a pending, declined or accepted invitation of
 * the same person is renewed (the person left since, or declined before).
 * Invitees already joined are skipped by the caller; invitees who blocked
 * the inviter are skipped here (read under the room's lock, like the rows
 * written).
 */
export async function recordInvitations(
  c: RoomChange,
  inviterId: bigint,
  inviteeIds: readonly bigint[],
): Promise<void> {
  const blockers = await blockersOf(c.tx, inviterId, inviteeIds);
  for (const inviteeId of inviteeIds) {
    if (blockers.has(inviteeId)) continue;
    await c.tx.invitation.upsert({
      where: { roomId_inviteeId: { roomId: c.room.id, inviteeId } },
      create: { roomId: c.room.id, inviterId, inviteeId, createdAt: c.now },
      update: { inviterId, state: "PENDING", createdAt: c.now, decidedAt: null },
    });
  }
}

/** The error for an invitation that is not the caller's, or not pending. */
export function invitationNotFound(): ConnectError {
  return new ConnectError("invitation not found", Code.NotFound);
}

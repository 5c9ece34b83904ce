/**
 * Mutes (timeouts): a muted member reads the room but cannot send until the
 * mute ends. The end is `memberships.muted_until`, read under the room's
 * lock in the send batch, so it holds on every instance at once. Exported
 * for other services (an admin API may mute from a report queue).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { MemberMutedSchema } from "../../../gen/chat/v1/event_pb.js";
import { refusedUntil } from "../../platform/errors.js";
import { actingMember, membershipOf, requireRole } from "../access.js";
import { retryText } from "../limits/rate-limits.js";
import type { RoomChange } from "../room-change.js";
import { rejectDirect, requireOutranks } from "../room-rules.js";

/** Longest mute: 30 days (as the contract's bound). */
export const maxMuteSeconds = 30 * 24 * 3600;

/** Throws PERMISSION_DENIED (reason MUTED, RetryInfo) while `until` is after `now`. */
export function requireNotMuted(until: Date | null, now: Date): void {
  if (!until || until.getTime() <= now.getTime()) return;
  const ms = until.getTime() - now.getTime();
  throw refusedUntil(
    Code.PermissionDenied,
    `you are muted in this room for ${retryText(ms)} more`,
    ErrorReason.MUTED,
    ms,
    { muted_until: until.toISOString() },
  );
}

/**
 * Mutes `userId` until now + `seconds` (or unmutes with `seconds` null), as
 * `actorId`, in the room change `c`: the actor must be an admin or owner
 * ranked above the member. Returns the event's seq (0: nothing changed) and
 * the end of the mute.
 */
export async function setMute(
  c: RoomChange,
  actorId: bigint,
  userId: bigint,
  seconds: number | null,
): Promise<{ seq: bigint; until: Date | null }> {
  const m = await actingMember(c, actorId);
  rejectDirect(c.room, "be moderated");
  requireRole(m, "ADMIN", seconds === null ? "unmute members" : "mute members");
  if (userId === actorId) {
    throw new ConnectError("you cannot mute or unmute yourself", Code.InvalidArgument);
  }
  const target = await membershipOf(c.tx, c.room.id, userId);
  if (target?.state !== "JOINED") {
    throw new ConnectError("that user is not a member of this room", Code.NotFound);
  }
  requireOutranks(m, target, seconds === null ? "unmute" : "mute");
  const row = await c.tx.membership.findUniqueOrThrow({
    where: { roomId_userId: { roomId: c.room.id, userId } },
    select: { mutedUntil: true },
  });
  const until = seconds === null ? null : new Date(c.now.getTime() + seconds * 1000);
  if (until === null && (!row.mutedUntil || row.mutedUntil <= c.now)) {
    return { seq: 0n, until: null };
  }
  await c.tx.membership.update({
    where: { roomId_userId: { roomId: c.room.id, userId } },
    data: { mutedUntil: until },
  });
  const seq = c.nextSeq();
  c.emit(seq, actorId, {
    case: "memberMuted",
    value: create(MemberMutedSchema, {
      userId,
      until: until ? timestampFromDate(until) : undefined,
    }),
  });
  return { seq, until };
}

/**
 * Who may see and change a room (design rule 7). Rooms a caller may not see
 * are NotFound, never PermissionDenied, so private rooms do not leak.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { $Enums, PrismaClient } from "../../prisma/generated/client.js";
import { type RoomRow, roleRank, roomSelect } from "./convert.js";
import type { LockedRoom, Tx } from "./room-writer.js";

/** A membership row as checks need it. */
export interface MembershipRow {
  role: $Enums.MemberRole;
  state: $Enums.MembershipState;
  lastReadSeq: bigint;
  joinedAt: Date;
}

const membershipSelect = { role: true, state: true, lastReadSeq: true, joinedAt: true } as const;

/** The error for a room the caller may not see (or that does not exist). */
export function roomNotFound(): ConnectError {
  return new ConnectError("room not found", Code.NotFound);
}

/** Loads the caller's membership row (any state) of a room. */
export async function membershipOf(
  db: PrismaClient | Tx,
  roomId: bigint,
  userId: bigint,
): Promise<MembershipRow | null> {
  return db.membership.findUnique({
    where: { roomId_userId: { roomId, userId } },
    select: membershipSelect,
  });
}

/** True when a room with this membership is visible to the caller. */
function canSee(visibility: "PUBLIC" | "PRIVATE", m: MembershipRow | null): boolean {
  if (m?.state === "BANNED") return false;
  return visibility === "PUBLIC" || m?.state === "JOINED";
}

/**
 * A room the caller may read: a public room they are not banned from, or a
 * room they belong to. Otherwise NotFound.
 */
export async function readableRoom(
  db: PrismaClient | Tx,
  roomId: bigint,
  userId: bigint,
): Promise<{ room: RoomRow; membership: MembershipRow | null }> {
  const [room, membership] = await Promise.all([
    db.room.findUnique({ where: { id: roomId }, select: roomSelect }),
    membershipOf(db, roomId, userId),
  ]);
  if (!room || !canSee(room.visibility, membership)) throw roomNotFound();
  return { room, membership: membership?.state === "JOINED" ? membership : null };
}

/**
 * Inside a change: the caller must be a current member. Not visible:
 * NotFound; a public room they did not join: PermissionDenied.
 */
export async function requireMember(
  tx: Tx,
  room: LockedRoom,
  userId: bigint,
): Promise<MembershipRow> {
  const m = await membershipOf(tx, room.id, userId);
  if (!canSee(room.visibility, m)) throw roomNotFound();
  if (m?.state !== "JOINED") {
    throw new ConnectError("join the room first: only members can do this", Code.PermissionDenied);
  }
  return m;
}

/** Archived rooms are read-only. */
export function requireNotArchived(room: { archivedAt: Date | null }): void {
  if (room.archivedAt) {
    throw new ConnectError("the room is archived and read-only", Code.FailedPrecondition);
  }
}

/** The member must hold at least `min`. */
export function requireRole(m: MembershipRow, min: $Enums.MemberRole, what: string): void {
  if (roleRank[m.role] < roleRank[min]) {
    throw new ConnectError(
      `only ${min === "OWNER" ? "the owner" : "owners and admins"} can ${what}`,
      Code.PermissionDenied,
    );
  }
}

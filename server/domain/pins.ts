/**
 * Pins: who may pin in a room, and the pinned list. Pins, unpins and policy
 * changes are room changes (rpc/services/pin-service.ts runs them in
 * RoomWriter.change, so each takes the room's next sequence).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { $Enums, PrismaClient } from "../store/prisma.js";
import { readableRoom } from "./access.js";
import { type MessageRow, messageSelect } from "./message-view.js";
import type { Tx } from "./room-change.js";
import { roleRank } from "./room-view.js";

/** Pins a room may hold. */
export const maxPinsPerRoom = 50;

/** Whether the room lets every member pin. */
export async function membersCanPin(db: PrismaClient | Tx, roomId: bigint): Promise<boolean> {
  const r = await db.room.findUnique({ where: { id: roomId }, select: { membersCanPin: true } });
  return r?.membersCanPin ?? false;
}

/** Owners and admins pin; members too when the room allows it. PermissionDenied otherwise. */
export function requireMayPin(role: $Enums.MemberRole, membersMay: boolean): void {
  if (membersMay || roleRank[role] >= roleRank.ADMIN) return;
  throw new ConnectError(
    "only owners and admins can pin messages in this room",
    Code.PermissionDenied,
  );
}

/** A room's pins, newest first, deleted messages left out (NotFound if the caller may not read it). */
export async function pinnedMessages(
  db: PrismaClient,
  roomId: bigint,
  callerId: bigint,
): Promise<{
  pins: { row: MessageRow; pinnedById: bigint; pinnedAt: Date }[];
  membersCanPin: boolean;
}> {
  await readableRoom(db, roomId, callerId);
  const pins = await db.pin.findMany({
    where: { roomId, message: { deletedAt: null } },
    orderBy: [{ pinnedAt: "desc" }, { messageId: "desc" }],
    take: maxPinsPerRoom,
    select: { pinnedById: true, pinnedAt: true, message: { select: messageSelect } },
  });
  return {
    pins: pins.map((p) => ({ row: p.message, pinnedById: p.pinnedById, pinnedAt: p.pinnedAt })),
    membersCanPin: await membersCanPin(db, roomId),
  };
}

/**
 * chat.v1.RoomService: rooms, direct conversations and memberships.
 *
 * Every change goes through the RoomWriter: it locks the room row, takes the
 * room's next dense sequence number and stores the RoomEvent in the same
 * transaction. A rejected call throws inside the change, so nothing is
 * written and the number is given back.
 *
 * Choices made here (the contract leaves them open):
 * - A new room's seq 1 is one `members_added` event (creator as OWNER, the
 *   initial members as MEMBER), and its history view is a SYSTEM message
 *   `room_created` at seq 1. Every room's history therefore starts at seq 1.
 * - Changes users see in history also store a SYSTEM message at the same seq
 *   as their event: members joined/added, left, kicked/banned, renamed,
 *   archived, role changed. Description-only updates, unbans and bans of
 *   users who were not members have only their event.
 * - Checks inside a change run in this order: not visible (NotFound),
 *   archived (FailedPrecondition), not a member (PermissionDenied), room kind
 *   (FailedPrecondition), role (PermissionDenied), then the request itself.
 * - DIRECT rooms have two MEMBERs and no owner: nothing in them can be
 *   moderated, updated, archived or left.
 * - Transferring ownership (SetMemberRole OWNER) takes two sequence numbers:
 *   first the new owner's role change, then the old owner's (to ADMIN).
 * - A user banned from a public room gets PermissionDenied from JoinRoom (as
 *   the contract says), NotFound from every other RPC, and the room is not
 *   in their ListPublicRooms.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { RoomService } from "../../../gen/chat/v1/room_pb.js";
import { directMethods } from "./rooms/directs.js";
import { listMethods } from "./rooms/lists.js";
import { memberMethods } from "./rooms/members.js";
import { moderationMethods } from "./rooms/moderation.js";
import { roomMethods } from "./rooms/rooms.js";
import type { RoomServiceDeps } from "./rooms/shared.js";

export type { RoomServiceDeps } from "./rooms/shared.js";

/** Creates the RoomService implementation from its parts (rooms/). */
export function createRoomService(deps: RoomServiceDeps): ServiceImpl<typeof RoomService> {
  return {
    ...roomMethods(deps),
    ...listMethods(deps),
    ...memberMethods(deps),
    ...moderationMethods(deps),
    ...directMethods(deps),
  };
}

/** Names of rooms and users as the UI shows them. */

import type { Message, User } from "@protochat/sdk";
import { MemberRole, RoomKind } from "@protochat/sdk";
import type { Id, RoomState } from "../state/chat-state.js";
import { idOf } from "../state/chat-state.js";
import { displayName, roleName } from "../util/format.js";

export function roomTitle(r: RoomState, me: bigint | undefined): string {
  if (r.room.name) return r.room.name;
  const peers = r.peers.filter((p) => p.id !== me);
  if (peers.length > 0) return peers.map((p) => displayName(p)).join(", ");
  return r.room.kind === RoomKind.DIRECT ? "Direct message" : "Conversation";
}

export function isDirect(r: RoomState): boolean {
  return r.room.kind === RoomKind.DIRECT || r.room.kind === RoomKind.GROUP_DIRECT;
}

/** One line describing a SYSTEM message. */
export function systemText(m: Message, users: Record<Id, User>): string {
  const name = (id: bigint) =>
    id === 0n ? "The server" : displayName(users[idOf(id)], `user ${id}`);
  const n = m.system?.notice;
  const actor = m.system?.actorId ?? 0n;
  switch (n?.case) {
    case "roomCreated":
      return n.value.name
        ? `${name(actor)} created the room “${n.value.name}”`
        : `${name(actor)} started the conversation`;
    case "membersJoined": {
      const ids = n.value.userIds;
      if (ids.length === 1 && ids[0] === actor) return `${name(actor)} joined`;
      const who = ids.map(name).join(", ");
      return actor !== 0n && !ids.includes(actor) ? `${name(actor)} added ${who}` : `${who} joined`;
    }
    case "memberLeft":
      return `${name(n.value.userId)} left`;
    case "memberRemoved":
      return `${name(actor)} ${n.value.banned ? "banned" : "removed"} ${name(n.value.userId)}`;
    case "roomRenamed":
      return `${name(actor)} renamed the room to “${n.value.newName}”`;
    case "roomArchived":
      return `${name(actor)} archived the room`;
    case "roleChanged":
      return n.value.role === MemberRole.MEMBER
        ? `${name(n.value.userId)} is now a member`
        : `${name(actor)} made ${name(n.value.userId)} ${n.value.role === MemberRole.OWNER ? "the owner" : `an ${roleName(n.value.role)}`}`;
    default:
      return "Room updated";
  }
}

/** The preview line of a room in the list. */
export function previewText(
  m: Message | undefined,
  users: Record<Id, User>,
  me: bigint | undefined,
): string {
  if (!m) return "No messages yet";
  if (m.deleted) return "Message deleted";
  if (m.system) return systemText(m, users);
  const who = m.senderId === me ? "You" : displayName(users[idOf(m.senderId)], "Someone");
  const body = m.custom ? `[${m.custom.type}]` : m.text;
  return `${who}: ${body}`;
}

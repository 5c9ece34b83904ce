/**
 * How things look in the terminal (human mode); JSON mode prints the
 * contract's own JSON instead (output.ts).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  MemberRemoved_Reason,
  MemberRole,
  type Message,
  MessageKind,
  type MyRoom,
  type Room,
  type RoomEvent,
  RoomKind,
  Visibility,
} from "@protochat/sdk";

/** Looks up a username by id (undefined when unknown). */
export type NameOf = (id: bigint) => string | undefined;

const nameOr = (nameOf: NameOf, id: bigint) => nameOf(id) ?? `user ${id}`;

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** `HH:MM` today, `YYYY-MM-DD HH:MM` otherwise (local time). */
export function formatTime(d: Date | undefined, now = new Date()): string {
  if (!d) return "--:--";
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return hm;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

function roleName(role: MemberRole): string {
  return MemberRole[role]?.toLowerCase() ?? "member";
}

/** What a SYSTEM message says. */
export function systemText(m: Message, nameOf: NameOf): string {
  const name = (id: bigint) => (id === 0n ? "the server" : nameOr(nameOf, id));
  const n = m.system?.notice;
  const actor = m.system?.actorId ?? 0n;
  switch (n?.case) {
    case "roomCreated":
      return n.value.name
        ? `${name(actor)} created the room "${n.value.name}"`
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
      return `${name(actor)} renamed the room to "${n.value.newName}"`;
    case "roomArchived":
      return `${name(actor)} archived the room`;
    case "roleChanged":
      return `${name(n.value.userId)} is now ${roleName(n.value.role)}`;
    default:
      return "the room changed";
  }
}

/** One message as lines of text. */
export function formatMessage(m: Message, nameOf: NameOf, now?: Date): string {
  const time = formatTime(m.createTime ? timestampDate(m.createTime) : undefined, now);
  if (m.kind === MessageKind.SYSTEM) return `[${time}] * ${systemText(m, nameOf)}`;
  const who = nameOr(nameOf, m.senderId);
  const reply = m.replyTo ? ` (reply to ${nameOr(nameOf, m.replyTo.senderId)})` : "";
  let body: string;
  if (m.deleted) body = "(deleted)";
  else if (m.kind === MessageKind.CUSTOM && m.custom) {
    const c = m.custom;
    body = `[${c.type}] ${c.body.case === "json" ? c.body.value : `${c.body.value?.length ?? 0} bytes`}`;
  } else body = m.text;
  const edited = m.editTime && !m.deleted ? " (edited)" : "";
  // Continuation lines line up under the text.
  const prefix = `[${time}] ${who}${reply}: `;
  const lines = `${body}${edited}`.split("\n");
  return [prefix + lines[0], ...lines.slice(1).map((l) => " ".repeat(prefix.length) + l)].join(
    "\n",
  );
}

/** A live room event other than a new message, as one line (undefined: nothing to show). */
export function formatRoomEvent(ev: RoomEvent, nameOf: NameOf): string | undefined {
  const actor = nameOr(nameOf, ev.actorId);
  const c = ev.change;
  switch (c.case) {
    case "messageEdited":
      return `* ${actor} edited a message: ${c.value.text}`;
    case "messageDeleted":
      return `* ${actor} deleted a message`;
    case "reactionAdded":
      return `* ${nameOr(nameOf, c.value.userId)} reacted ${c.value.emoji}`;
    case "reactionRemoved":
      return undefined;
    case "membersAdded": {
      const who = c.value.members.map((m) => m.user?.username ?? "someone");
      return who.length === 1 && c.value.members[0]?.user?.id === ev.actorId
        ? `* ${who[0]} joined`
        : `* ${actor} added ${who.join(", ")}`;
    }
    case "memberRemoved": {
      const who = nameOr(nameOf, c.value.userId);
      switch (c.value.reason) {
        case MemberRemoved_Reason.KICKED:
          return `* ${actor} removed ${who}`;
        case MemberRemoved_Reason.BANNED:
          return `* ${actor} banned ${who}`;
        default:
          return `* ${who} left`;
      }
    }
    case "memberRoleChanged":
      return `* ${nameOr(nameOf, c.value.userId)} is now ${roleName(c.value.role)}`;
    case "roomUpdated":
      return `* ${actor} updated the room: ${c.value.room?.name ?? ""}`;
    case "memberUnbanned":
      return `* ${actor} lifted the ban on ${nameOr(nameOf, c.value.userId)}`;
    default:
      return undefined;
  }
}

/** The room's name as shown (#name, or the peers of a direct conversation). */
export function roomTitle(room: Room | undefined, peers: string[] = []): string {
  if (!room) return "?";
  if (room.name) return `#${room.name}`;
  if (peers.length > 0) return `@${peers.join(", @")}`;
  return room.kind === RoomKind.DIRECT ? "(direct)" : "(conversation)";
}

/** One line of `protochat rooms`. */
export function formatMyRoom(r: MyRoom, me: bigint | undefined): string {
  const room = r.room;
  const peers = r.peers.filter((p) => p.id !== me).map((p) => p.username);
  const parts = [roomTitle(room, peers), `id ${room?.id ?? 0n}`];
  if (room?.visibility === Visibility.PUBLIC) parts.push("public");
  parts.push(`${room?.memberCount ?? 0} members`);
  if (r.unreadCount > 0) parts.push(`${r.unreadCount} unread`);
  if (r.mentionCount > 0) parts.push(`${r.mentionCount} mentions`);
  if (room?.archiveTime) parts.push("archived");
  return parts.join(" · ");
}

/**
 * The chat as this tab knows it, and the pure functions that change it:
 * room list snapshots (ListMyRooms), history pages (ListMessages), feed
 * events and optimistic sends. Kept free of I/O so it can be tested alone.
 *
 * Per room three positions are tracked:
 * - `feedSeq`: the last sequence the feed delivered (what Subscribe resumes
 *   from);
 * - `msgSeq`: the message list reflects every change up to here (history
 *   pages are current as of their `last_seq`, later events are applied on
 *   top, earlier ones are already in the page);
 * - `countedThrough`: unread and mention counts include every message up to
 *   here (a ListMyRooms snapshot or the feed).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { FeedEvent, MyRoom, Room, RoomEvent, User } from "@protochat/sdk";
import {
  type ListMessagesResponse,
  MemberRemoved_Reason,
  MemberRole,
  type Message,
  MessageKind,
  MessageSchema,
  type Reaction,
  ReactionSchema,
  type ReplyPreview,
  type SystemNoticeSchema,
} from "@protochat/sdk";

export type Id = string;

type SystemNoticeInit = MessageInitShape<typeof SystemNoticeSchema>;

export const idOf = (n: bigint): Id => n.toString();

/** An optimistic message not (yet) confirmed by the server. */
export interface PendingMessage {
  clientMsgId: string;
  text: string;
  replyToId: bigint;
  replyTo: ReplyPreview | undefined;
  status: "pending" | "failed";
  error?: string;
  createdAt: number;
}

export interface RoomState {
  id: Id;
  room: Room;
  role: MemberRole;
  lastReadSeq: bigint;
  unread: number;
  mentions: number;
  countedThrough: bigint;
  lastMessage: Message | undefined;
  peers: User[];
  /** Last sequence the feed delivered; undefined: start live. */
  feedSeq: bigint | undefined;
  /** History in ascending sequence order (TEXT, CUSTOM and SYSTEM). */
  messages: Message[];
  historyLoaded: boolean;
  /** The history needs a quiet reload (reset, or it went stale). */
  historyStale: boolean;
  msgSeq: bigint;
  hasMoreBefore: boolean;
  /** The latest room events received, for replay onto a history page. */
  recent: RoomEvent[];
  pending: PendingMessage[];
  /** Who is typing: user id → when it expires (ms). */
  typing: Record<Id, number>;
  onlineMembers: number | undefined;
}

export type Connection =
  | { state: "connecting"; attempt: number }
  | { state: "live" }
  | { state: "waiting"; attempt: number; retryAt: number; error: string }
  | { state: "stopped"; error: string };

export interface ChatState {
  me: User | undefined;
  rooms: Record<Id, RoomState>;
  roomsLoaded: boolean;
  users: Record<Id, User>;
  presence: Record<Id, { online: boolean; lastSeen?: Date }>;
  connection: Connection;
  /** Counts may be off (a deletion of an unknown message...): reload the room list. */
  countsDirty: boolean;
  /** Rooms that need their history reloaded because of a reset. */
  resetRooms: Id[];
}

export const RECENT_LIMIT = 500;
export const TYPING_TTL_MS = 7_000;

export function initialState(me?: User): ChatState {
  return {
    me,
    rooms: {},
    roomsLoaded: false,
    users: me ? { [idOf(me.id)]: me } : {},
    presence: {},
    connection: { state: "connecting", attempt: 0 },
    countsDirty: false,
    resetRooms: [],
  };
}

const maxSeq = (a: bigint, b: bigint) => (a > b ? a : b);

function counts(m: Message, me: bigint): { unread: number; mention: number } {
  if (m.deleted || m.senderId === me) return { unread: 0, mention: 0 };
  if (m.kind !== MessageKind.TEXT && m.kind !== MessageKind.CUSTOM)
    return { unread: 0, mention: 0 };
  return { unread: 1, mention: m.mentionIds.includes(me) ? 1 : 0 };
}

export function newRoomState(room: Room, init: Partial<RoomState> = {}): RoomState {
  return {
    id: idOf(room.id),
    room,
    role: MemberRole.MEMBER,
    lastReadSeq: 0n,
    unread: 0,
    mentions: 0,
    countedThrough: room.lastSeq,
    lastMessage: undefined,
    peers: [],
    feedSeq: undefined,
    messages: [],
    historyLoaded: false,
    historyStale: false,
    msgSeq: 0n,
    hasMoreBefore: false,
    recent: [],
    pending: [],
    typing: {},
    onlineMembers: undefined,
    ...init,
  };
}

function withUsers(users: Record<Id, User>, list: (User | undefined)[]): Record<Id, User> {
  let out = users;
  for (const u of list) {
    if (!u) continue;
    const id = idOf(u.id);
    if (out[id] === u) continue;
    if (out === users) out = { ...users };
    out[id] = u;
  }
  return out;
}

/** Remembers users (for names and avatars). */
export function usersSeen(state: ChatState, list: (User | undefined)[]): ChatState {
  const users = withUsers(state.users, list);
  return users === state.users ? state : { ...state, users };
}

/**
 * Merges a ListMyRooms snapshot. New rooms start from the snapshot's
 * sequence. Counts come from the snapshot, plus messages the feed already
 * delivered past it. With `prune`, rooms missing from it are dropped (only
 * while no feed runs, so no room_added can race with it).
 */
export function roomsLoaded(state: ChatState, list: MyRoom[], prune = false): ChatState {
  const me = state.me?.id ?? 0n;
  const rooms: Record<Id, RoomState> = prune ? {} : { ...state.rooms };
  for (const mr of list) {
    if (!mr.room) continue;
    const id = idOf(mr.room.id);
    const snapSeq = mr.room.lastSeq;
    const old = state.rooms[id];
    if (!old) {
      rooms[id] = newRoomState(mr.room, {
        role: mr.role,
        lastReadSeq: mr.lastReadSeq,
        unread: mr.unreadCount,
        mentions: mr.mentionCount,
        countedThrough: snapSeq,
        lastMessage: mr.lastMessage,
        peers: mr.peers,
        feedSeq: snapSeq,
      });
      continue;
    }
    const lastReadSeq = maxSeq(old.lastReadSeq, mr.lastReadSeq);
    let unread = mr.unreadCount;
    let mentions = mr.mentionCount;
    // Messages delivered after the snapshot was read are not in its counts.
    for (const ev of old.recent) {
      if (ev.seq <= snapSeq || ev.seq > old.countedThrough || ev.seq <= lastReadSeq) continue;
      if (ev.change.case === "messageCreated" && ev.change.value.message) {
        const c = counts(ev.change.value.message, me);
        unread += c.unread;
        mentions += c.mention;
      }
    }
    const newer = snapSeq >= old.room.lastSeq;
    const lastMessage =
      old.lastMessage && mr.lastMessage && old.lastMessage.seq > mr.lastMessage.seq
        ? old.lastMessage
        : (mr.lastMessage ?? old.lastMessage);
    rooms[id] = {
      ...old,
      room: newer ? mr.room : old.room,
      role: mr.role,
      lastReadSeq,
      unread,
      mentions,
      countedThrough: maxSeq(old.countedThrough, snapSeq),
      lastMessage,
      peers: mr.peers,
    };
  }
  if (prune) {
    // Keep rooms we are still in; nothing else.
  } else {
    for (const [id, r] of Object.entries(state.rooms)) if (!rooms[id]) rooms[id] = r;
  }
  const users = withUsers(
    state.users,
    list.flatMap((r) => r.peers),
  );
  return { ...state, rooms, users, roomsLoaded: true, countsDirty: false };
}

/** Positions to resume the feed from: rooms whose feed sequence is known. */
export function feedPositions(state: ChatState): { roomId: bigint; lastSeq: bigint }[] {
  const out: { roomId: bigint; lastSeq: bigint }[] = [];
  for (const r of Object.values(state.rooms)) {
    if (r.feedSeq !== undefined) out.push({ roomId: r.room.id, lastSeq: r.feedSeq });
  }
  return out;
}

function sortedInsert(messages: Message[], m: Message): Message[] {
  const i = messages.findIndex((x) => x.seq >= m.seq);
  if (i === -1) return [...messages, m];
  if (messages[i]?.seq === m.seq) {
    const out = messages.slice();
    out[i] = m;
    return out;
  }
  return [...messages.slice(0, i), m, ...messages.slice(i)];
}

/**
 * Changes one message, and the quoted preview of replies to it.
 */
function mapMessage(
  messages: Message[],
  id: bigint,
  fn: (m: Message) => Message,
  reply?: (p: ReplyPreview) => ReplyPreview,
): Message[] {
  let changed = false;
  const out = messages.map((m) => {
    let next = m.id === id ? fn(m) : m;
    if (reply && next.replyTo && next.replyTo.messageId === id) {
      next = { ...next, replyTo: reply(next.replyTo) };
    }
    if (next !== m) changed = true;
    return next;
  });
  return changed ? out : messages;
}

/** A message we know of in a room: history or a recent event. */
function knownMessage(r: RoomState, id: bigint): Message | undefined {
  const m = r.messages.find((x) => x.id === id);
  if (m) return m;
  for (const ev of r.recent) {
    if (ev.change.case === "messageCreated" && ev.change.value.message?.id === id) {
      return ev.change.value.message;
    }
  }
  return undefined;
}

function reactionsAfter(
  reactions: Reaction[],
  emoji: string,
  count: number,
  mine: boolean | undefined,
): Reaction[] {
  const i = reactions.findIndex((r) => r.emoji === emoji);
  if (count === 0) return i === -1 ? reactions : reactions.filter((_, j) => j !== i);
  if (i === -1) {
    return [...reactions, create(ReactionSchema, { emoji, count, me: mine ?? false })];
  }
  const out = reactions.slice();
  const old = out[i] as Reaction;
  out[i] = { ...old, count, me: mine ?? old.me };
  return out;
}

/** A SYSTEM line for a membership or room change, as history would show it. */
export function systemLineFor(ev: RoomEvent, roomBefore: Room | undefined): Message | undefined {
  let notice: SystemNoticeInit["notice"] | undefined;
  const c = ev.change;
  switch (c.case) {
    case "membersAdded":
      notice =
        ev.seq === 1n
          ? { case: "roomCreated", value: { name: roomBefore?.name ?? "" } }
          : {
              case: "membersJoined",
              value: { userIds: c.value.members.map((m) => m.user?.id ?? 0n) },
            };
      break;
    case "memberRemoved":
      notice =
        c.value.reason === MemberRemoved_Reason.LEFT
          ? { case: "memberLeft", value: { userId: c.value.userId } }
          : {
              case: "memberRemoved",
              value: {
                userId: c.value.userId,
                banned: c.value.reason === MemberRemoved_Reason.BANNED,
              },
            };
      break;
    case "memberRoleChanged":
      notice = { case: "roleChanged", value: { userId: c.value.userId, role: c.value.role } };
      break;
    case "roomUpdated": {
      const after = c.value.room;
      if (after?.archiveTime && !roomBefore?.archiveTime) {
        notice = { case: "roomArchived", value: {} };
      } else if (after && roomBefore && after.name !== roomBefore.name) {
        notice = {
          case: "roomRenamed",
          value: { oldName: roomBefore.name, newName: after.name },
        };
      }
      break;
    }
    default:
      return undefined;
  }
  if (!notice) return undefined;
  return create(MessageSchema, {
    roomId: ev.roomId,
    seq: ev.seq,
    kind: MessageKind.SYSTEM,
    system: { notice, actorId: ev.actorId },
    createTime: ev.time,
  });
}

/** Applies one room event to the message list (events after `msgSeq` only). */
function applyToMessages(r: RoomState, ev: RoomEvent, me: bigint, roomBefore: Room): Message[] {
  const c = ev.change;
  switch (c.case) {
    case "messageCreated":
      return c.value.message ? sortedInsert(r.messages, c.value.message) : r.messages;
    case "messageEdited": {
      const v = c.value;
      return mapMessage(
        r.messages,
        v.messageId,
        (m) => ({ ...m, text: v.text, editTime: v.editTime ?? ev.time, mentionIds: v.mentionIds }),
        (p) => ({ ...p, text: v.text.slice(0, 200) }),
      );
    }
    case "messageDeleted": {
      const v = c.value;
      return mapMessage(
        r.messages,
        v.messageId,
        (m) => ({
          ...m,
          deleted: true,
          text: "",
          custom: undefined,
          reactions: [],
          mentionIds: [],
          deletedBy: v.deletedBy,
          deleteTime: ev.time,
        }),
        (p) => ({ ...p, text: "", deleted: true }),
      );
    }
    case "reactionAdded":
    case "reactionRemoved": {
      const v = c.value;
      const added = c.case === "reactionAdded";
      return mapMessage(r.messages, v.messageId, (m) => ({
        ...m,
        reactions: reactionsAfter(
          m.reactions,
          v.emoji,
          v.count,
          v.userId === me ? added : undefined,
        ),
      }));
    }
    default: {
      const line = systemLineFor(ev, roomBefore);
      if (!line || r.messages.some((m) => m.seq === ev.seq)) return r.messages;
      return sortedInsert(r.messages, line);
    }
  }
}

/** Applies a room event to a room: positions, counts, preview, history. */
export function applyRoomEvent(
  r: RoomState,
  ev: RoomEvent,
  me: bigint,
): { room: RoomState; dirty: boolean } {
  let dirty = false;
  const roomBefore = r.room;
  const next: RoomState = { ...r };
  // Recent events, ascending and unique by sequence.
  if (!r.recent.some((x) => x.seq === ev.seq)) {
    const recent = [...r.recent, ev].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    next.recent = recent.length > RECENT_LIMIT ? recent.slice(-RECENT_LIMIT) : recent;
  }
  next.feedSeq = r.feedSeq === undefined ? ev.seq : maxSeq(r.feedSeq, ev.seq);
  if (ev.seq > r.room.lastSeq) {
    next.room = {
      ...r.room,
      lastSeq: ev.seq,
      lastActivityTime: ev.time ?? r.room.lastActivityTime,
    };
  }
  const c = ev.change;
  // Room fields.
  if (c.case === "roomUpdated" && c.value.room) {
    const updated = c.value.room;
    next.room = {
      ...updated,
      lastSeq: maxSeq(updated.lastSeq, next.room.lastSeq),
      lastActivityTime: next.room.lastActivityTime,
    };
  } else if (c.case === "membersAdded" && ev.seq > r.countedThrough) {
    next.room = { ...next.room, memberCount: next.room.memberCount + c.value.members.length };
  } else if (c.case === "memberRemoved" && ev.seq > r.countedThrough) {
    next.room = { ...next.room, memberCount: Math.max(0, next.room.memberCount - 1) };
  }
  if (c.case === "memberRoleChanged" && c.value.userId === me) next.role = c.value.role;
  // Counts and preview.
  if (ev.seq > r.countedThrough) {
    if (c.case === "messageCreated" && c.value.message && ev.seq > r.lastReadSeq) {
      const k = counts(c.value.message, me);
      next.unread += k.unread;
      next.mentions += k.mention;
    } else if (c.case === "messageDeleted") {
      const msg = knownMessage(r, c.value.messageId);
      if (!msg) {
        dirty = r.unread > 0;
      } else if (!msg.deleted && msg.seq > r.lastReadSeq) {
        const k = counts(msg, me);
        next.unread = Math.max(0, next.unread - k.unread);
        next.mentions = Math.max(0, next.mentions - k.mention);
      }
    } else if (c.case === "messageEdited" && r.unread > 0) {
      // An edit can add or remove a mention of us; the server knows best.
      const was = r.messages.find((m) => m.id === c.value.messageId);
      const mentionedNow = c.value.mentionIds.includes(me);
      if (!was || was.mentionIds.includes(me) !== mentionedNow) dirty = true;
    }
    next.countedThrough = ev.seq;
  }
  if (c.case === "messageCreated" && c.value.message) {
    const m = c.value.message;
    if (!r.lastMessage || m.seq >= r.lastMessage.seq) next.lastMessage = m;
    if (m.senderId === me && m.clientMsgId) {
      next.pending = r.pending.filter((p) => p.clientMsgId !== m.clientMsgId);
    }
    if (r.typing[idOf(m.senderId)] !== undefined) {
      const typing = { ...r.typing };
      delete typing[idOf(m.senderId)];
      next.typing = typing;
    }
  } else if (c.case === "messageEdited" && r.lastMessage?.id === c.value.messageId) {
    next.lastMessage = { ...r.lastMessage, text: c.value.text, editTime: c.value.editTime };
  } else if (c.case === "messageDeleted" && r.lastMessage?.id === c.value.messageId) {
    next.lastMessage = { ...r.lastMessage, text: "", deleted: true };
  }
  // History.
  if (r.historyLoaded && ev.seq > r.msgSeq) {
    next.messages = applyToMessages(next, ev, me, roomBefore);
    next.msgSeq = ev.seq;
  }
  return { room: next, dirty };
}

/** A page of history arrived. `latest`: the newest page (replaces the list). */
export function historyLoaded(
  state: ChatState,
  roomId: Id,
  page: ListMessagesResponse,
  kind: "latest" | "older",
): ChatState {
  const r = state.rooms[roomId];
  if (!r) return state;
  const me = state.me?.id ?? 0n;
  let next: RoomState;
  if (kind === "latest") {
    next = {
      ...r,
      messages: page.messages,
      historyLoaded: true,
      historyStale: false,
      msgSeq: page.lastSeq,
      hasMoreBefore: page.hasMoreBefore,
    };
    // Events the feed delivered past the page (it was read before them).
    for (const ev of r.recent) {
      if (ev.seq > next.msgSeq) {
        next = { ...next, messages: applyToMessages(next, ev, me, next.room), msgSeq: ev.seq };
      }
    }
    // Pending sends the page already contains are sent.
    const ids = new Set(page.messages.filter((m) => m.senderId === me).map((m) => m.clientMsgId));
    if (r.pending.some((p) => ids.has(p.clientMsgId))) {
      next.pending = r.pending.filter((p) => !ids.has(p.clientMsgId));
    }
  } else {
    const known = new Set(r.messages.map((m) => m.seq));
    const older = page.messages.filter((m) => !known.has(m.seq));
    const messages = [...older, ...r.messages].sort((a, b) =>
      a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0,
    );
    next = { ...r, messages, hasMoreBefore: page.hasMoreBefore };
  }
  return { ...state, rooms: { ...state.rooms, [roomId]: next } };
}

function updateRoom(state: ChatState, roomId: Id, fn: (r: RoomState) => RoomState): ChatState {
  const r = state.rooms[roomId];
  if (!r) return state;
  const next = fn(r);
  return next === r ? state : { ...state, rooms: { ...state.rooms, [roomId]: next } };
}

/** Applies one feed event. */
export function applyFeedEvent(state: ChatState, fe: FeedEvent, now: number): ChatState {
  const me = state.me?.id ?? 0n;
  const e = fe.event;
  switch (e.case) {
    case "ready": {
      const listed = new Map(e.value.rooms.map((p) => [idOf(p.roomId), p.lastSeq]));
      const rooms: Record<Id, RoomState> = {};
      let dirty = state.countsDirty;
      for (const [id, r] of Object.entries(state.rooms)) {
        const head = listed.get(id);
        if (head === undefined) continue; // no longer a member
        if (r.feedSeq === undefined) {
          // Starts live: what happened before is only in history.
          rooms[id] = {
            ...r,
            feedSeq: head,
            countedThrough: maxSeq(r.countedThrough, head),
            historyStale: r.historyLoaded || r.historyStale,
          };
          dirty = true;
        } else {
          rooms[id] = r;
        }
      }
      // Rooms we do not know yet come with the next room list load.
      if ([...listed.keys()].some((id) => !state.rooms[id])) dirty = true;
      return { ...state, rooms, countsDirty: dirty, connection: { state: "live" } };
    }
    case "roomEvent": {
      const ev = e.value;
      const id = idOf(ev.roomId);
      const r = state.rooms[id];
      if (!r) return { ...state, countsDirty: true };
      const { room, dirty } = applyRoomEvent(r, ev, me);
      let users = state.users;
      if (ev.change.case === "membersAdded") {
        users = withUsers(
          users,
          ev.change.value.members.map((m) => m.user),
        );
      }
      let presence = state.presence;
      // Someone who just posted is around, whatever we knew.
      if (
        ev.change.case === "messageCreated" &&
        ev.actorId !== me &&
        presence[idOf(ev.actorId)] === undefined &&
        ev.time &&
        now - timestampDate(ev.time).getTime() < 60_000
      ) {
        presence = { ...presence, [idOf(ev.actorId)]: { online: true } };
      }
      return {
        ...state,
        users,
        presence,
        rooms: { ...state.rooms, [id]: room },
        countsDirty: state.countsDirty || dirty,
      };
    }
    case "reset": {
      const id = idOf(e.value.roomId);
      const r = state.rooms[id];
      if (!r) return state;
      return {
        ...state,
        rooms: {
          ...state.rooms,
          [id]: {
            ...r,
            feedSeq: e.value.lastSeq,
            countedThrough: maxSeq(r.countedThrough, e.value.lastSeq),
            room: { ...r.room, lastSeq: maxSeq(r.room.lastSeq, e.value.lastSeq) },
            recent: [],
            historyStale: true,
          },
        },
        countsDirty: true,
        resetRooms: state.resetRooms.includes(id) ? state.resetRooms : [...state.resetRooms, id],
      };
    }
    case "readMarker": {
      const id = idOf(e.value.roomId);
      const r = state.rooms[id];
      if (!r || e.value.lastReadSeq <= r.lastReadSeq) return state;
      const all = e.value.lastReadSeq >= r.room.lastSeq;
      return {
        ...updateRoom(state, id, (x) => ({
          ...x,
          lastReadSeq: e.value.lastReadSeq,
          unread: all ? 0 : x.unread,
          mentions: all ? 0 : x.mentions,
        })),
        countsDirty: state.countsDirty || (!all && r.unread > 0),
      };
    }
    case "typing": {
      const { roomId, userId, typing } = e.value;
      if (userId === me) return state;
      return updateRoom(state, idOf(roomId), (r) => {
        const t = { ...r.typing };
        if (typing) t[idOf(userId)] = now + TYPING_TTL_MS;
        else if (t[idOf(userId)] === undefined) return r;
        else delete t[idOf(userId)];
        return { ...r, typing: t };
      });
    }
    case "presence": {
      const { userId, online, lastSeenTime } = e.value;
      return {
        ...state,
        presence: {
          ...state.presence,
          [idOf(userId)]: {
            online,
            lastSeen: lastSeenTime ? timestampDate(lastSeenTime) : undefined,
          },
        },
      };
    }
    case "roomStats": {
      const v = e.value;
      return updateRoom(state, idOf(v.roomId), (r) => ({
        ...r,
        onlineMembers: v.onlineMembers,
        room: { ...r.room, memberCount: v.memberCount },
      }));
    }
    case "roomAdded": {
      const room = e.value.room;
      if (!room) return state;
      const id = idOf(room.id);
      if (state.rooms[id]) return state;
      return {
        ...state,
        rooms: { ...state.rooms, [id]: newRoomState(room, { countedThrough: room.lastSeq }) },
        countsDirty: true,
      };
    }
    case "roomRemoved": {
      const id = idOf(e.value.roomId);
      if (!state.rooms[id]) return state;
      const rooms = { ...state.rooms };
      delete rooms[id];
      return { ...state, rooms };
    }
    default:
      return state;
  }
}

/** Drops typing states that expired. */
export function expireTyping(state: ChatState, now: number): ChatState {
  let rooms: Record<Id, RoomState> | undefined;
  for (const [id, r] of Object.entries(state.rooms)) {
    const live = Object.entries(r.typing).filter(([, until]) => until > now);
    if (live.length === Object.keys(r.typing).length) continue;
    rooms ??= { ...state.rooms };
    rooms[id] = { ...r, typing: Object.fromEntries(live) };
  }
  return rooms ? { ...state, rooms } : state;
}

/** An optimistic send starts (or a failed one is retried). */
export function pendingAdded(state: ChatState, roomId: Id, p: PendingMessage): ChatState {
  return updateRoom(state, roomId, (r) => {
    const i = r.pending.findIndex((x) => x.clientMsgId === p.clientMsgId);
    const pending = i === -1 ? [...r.pending, p] : r.pending.map((x, j) => (j === i ? p : x));
    return { ...r, pending };
  });
}

export function pendingFailed(
  state: ChatState,
  roomId: Id,
  clientMsgId: string,
  error: string,
): ChatState {
  return updateRoom(state, roomId, (r) => ({
    ...r,
    pending: r.pending.map((p) =>
      p.clientMsgId === clientMsgId ? { ...p, status: "failed" as const, error } : p,
    ),
  }));
}

/**
 * The server stored the message (the SendMessage response, or a duplicate
 * of an earlier try): it is sent. The feed echo then changes nothing.
 */
export function pendingSent(state: ChatState, roomId: Id, message: Message): ChatState {
  return updateRoom(state, roomId, (r) => {
    const pending = r.pending.filter((p) => p.clientMsgId !== message.clientMsgId);
    const messages =
      r.historyLoaded && !r.messages.some((m) => m.seq === message.seq)
        ? sortedInsert(r.messages, message)
        : r.messages;
    return { ...r, pending, messages };
  });
}

export function pendingDropped(state: ChatState, roomId: Id, clientMsgId: string): ChatState {
  return updateRoom(state, roomId, (r) => ({
    ...r,
    pending: r.pending.filter((p) => p.clientMsgId !== clientMsgId),
  }));
}

/** MarkRead answered: the marker and the counts left. */
export function markedRead(
  state: ChatState,
  roomId: Id,
  res: { lastReadSeq: bigint; unreadCount: number; mentionCount: number },
): ChatState {
  return updateRoom(state, roomId, (r) => ({
    ...r,
    lastReadSeq: maxSeq(r.lastReadSeq, res.lastReadSeq),
    unread: res.unreadCount,
    mentions: res.mentionCount,
  }));
}

/** A message's reactions as a per-caller response tells them (with `me`). */
export function reactionsUpdated(
  state: ChatState,
  roomId: Id,
  messageId: bigint,
  reactions: Reaction[],
): ChatState {
  return updateRoom(state, roomId, (r) => ({
    ...r,
    messages: r.messages.map((m) => (m.id === messageId ? { ...m, reactions } : m)),
  }));
}

/** A message as a per-caller response tells it (edit, delete). */
export function messageUpdated(state: ChatState, roomId: Id, message: Message): ChatState {
  return updateRoom(state, roomId, (r) =>
    r.messages.some((m) => m.id === message.id)
      ? {
          ...r,
          messages: r.messages.map((m) =>
            m.id === message.id ? { ...message, reactions: m.reactions } : m,
          ),
        }
      : r,
  );
}

/** The caller left or lost a room. */
export function roomDropped(state: ChatState, roomId: Id): ChatState {
  if (!state.rooms[roomId]) return state;
  const rooms = { ...state.rooms };
  delete rooms[roomId];
  return { ...state, rooms };
}

/** The room list, latest activity first. */
export function sortedRooms(rooms: Record<Id, RoomState>): RoomState[] {
  const key = (r: RoomState) => {
    const t = r.room.lastActivityTime ?? r.room.createTime;
    return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : 0;
  };
  return Object.values(rooms).sort((a, b) => key(b) - key(a) || (a.id < b.id ? 1 : -1));
}

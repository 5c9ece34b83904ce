/**
 * Everything the chat does over the network, on top of the pure state in
 * chat-state.ts: the room list, the one feed stream, history pages,
 * optimistic sends, read markers, typing and room management.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Code as CodeType, ConnectError } from "@connectrpc/connect";
import { ConnectError as CE, Code } from "@connectrpc/connect";
import type {
  BackoffOptions,
  FeedEvent,
  MemberRole,
  Message,
  User,
  Visibility,
} from "@protochat/sdk";
import type { Clients } from "../api/clients.js";
import { FeedClient, type FeedStatus } from "../feed/feed-client.js";
import {
  applyFeedEvent,
  type ChatState,
  expireTyping,
  feedPositions,
  historyLoaded,
  type Id,
  idOf,
  initialState,
  markedRead,
  messageUpdated,
  pendingAdded,
  pendingDropped,
  pendingFailed,
  pendingSent,
  reactionsUpdated,
  roomDropped,
  roomsLoaded,
  usersSeen,
} from "./chat-state.js";
import {
  blocked,
  blockOf,
  expired,
  type SendBlock,
  type SendBlocks,
  unmuted,
} from "./send-blocks.js";
import { Store } from "./store.js";

export interface ControllerOptions {
  clients: Clients;
  me?: User;
  /** The token was revoked or expired. */
  onUnauthenticated(err: ConnectError): void;
  /** A room's membership changed (refresh member lists). */
  onMembersChanged?(roomId: Id): void;
  backoff?: BackoffOptions;
  random?: () => number;
  now?: () => number;
  newId?: () => string;
  /** Debounce of MarkRead calls (ms). */
  markReadDelayMs?: number;
  /** Debounce of room list reloads (ms). */
  refreshDelayMs?: number;
  pageSize?: number;
}

/** How often typing is repeated while the user keeps typing, and when it stops. */
const TYPING_REPEAT_MS = 3_000;
const TYPING_IDLE_MS = 5_000;

export function errorText(err: unknown): string {
  const ce = CE.from(err);
  return ce.rawMessage || Code[ce.code as CodeType] || "error";
}

export class ChatController {
  readonly store: Store<ChatState>;
  readonly feed: FeedClient;
  /** Also told every feed event, after the state took it (receipts, pins). */
  readonly feedListeners = new Set<(ev: FeedEvent) => void>();
  /** Rooms whose sends are held back (rate limit, slow mode, mute): see send-blocks.ts. */
  readonly blocks = new Store<SendBlocks>({});
  private readonly o: ControllerOptions;
  private openRoomId: Id | undefined;
  private readonly loadingLatest = new Set<Id>();
  private readonly loadingOlder = new Set<Id>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly markTimers = new Map<Id, ReturnType<typeof setTimeout>>();
  private readonly markWanted = new Map<Id, bigint>();
  private readonly typingSent = new Map<Id, { at: number; idle: ReturnType<typeof setTimeout> }>();
  private readonly userFetches = new Set<Id>();
  private tick: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private stopped = false;

  constructor(o: ControllerOptions) {
    this.o = o;
    this.store = new Store(initialState(o.me));
    this.feed = new FeedClient({
      feed: o.clients.follow({ backoff: o.backoff, random: o.random, now: o.now }),
      onEvent: (ev) => {
        this.dispatch((s) => applyFeedEvent(s, ev, this.now()));
        if (ev.event.case === "roomEvent") {
          const c = ev.event.value.change.case;
          if (
            c === "membersAdded" ||
            c === "memberRemoved" ||
            c === "memberRoleChanged" ||
            c === "memberUnbanned" ||
            c === "memberMuted"
          ) {
            o.onMembersChanged?.(idOf(ev.event.value.roomId));
          }
        }
        if (ev.event.case === "ready") this.markSelfOnline();
        if (ev.event.case === "roomEvent" && ev.event.value.change.case === "memberMuted") {
          const v = ev.event.value.change.value;
          if (v.userId === this.state.me?.id) {
            this.mutedUntil(idOf(ev.event.value.roomId), v.until && timestampDate(v.until));
          }
        }
        for (const l of this.feedListeners) l(ev);
      },
      onStatus: (status: FeedStatus) => this.dispatch((s) => ({ ...s, connection: status })),
      onUnauthenticated: (err) => o.onUnauthenticated(err),
    });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  get state(): ChatState {
    return this.store.getState();
  }

  /** Loads the account and the room list, then opens the feed. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      if (!this.state.me) {
        const res = await this.o.clients.users.getMe({});
        if (res.user) {
          const me = res.user;
          this.store.update((s) => usersSeen({ ...s, me }, [me]));
        }
      }
      await this.loadRooms(true);
    } catch (err) {
      if (this.stopped) return;
      // The feed loop retries; the room list comes with its first `ready`.
      this.dispatch((s) => ({ ...s, countsDirty: true }));
      void err;
    }
    if (this.stopped) return;
    this.tick = setInterval(() => this.dispatch((s) => expireTyping(s, this.now())), 1_000);
    globalThis.addEventListener?.("online", this.onOnline);
    void this.feed.start();
  }

  stop(): void {
    this.stopped = true;
    this.feed.stop();
    clearInterval(this.tick);
    clearTimeout(this.refreshTimer);
    for (const t of this.markTimers.values()) clearTimeout(t);
    for (const t of this.typingSent.values()) clearTimeout(t.idle);
    globalThis.removeEventListener?.("online", this.onOnline);
  }

  private onOnline = () => this.feed.retryNow();

  private markSelfOnline(): void {
    const me = this.state.me;
    if (!me) return;
    this.store.update((s) => ({
      ...s,
      presence: { ...s.presence, [idOf(me.id)]: { online: true } },
    }));
  }

  /** Applies a change, then does what the new state asks for. */
  private dispatch(fn: (s: ChatState) => ChatState): void {
    this.store.update(fn);
    const s = this.state;
    if (s.countsDirty) this.scheduleRefresh();
    if (s.resetRooms.length > 0) {
      this.store.update((x) => ({ ...x, resetRooms: [] }));
    }
    this.ensureOpenRoomLoaded();
  }

  private ensureOpenRoomLoaded(): void {
    const id = this.openRoomId;
    if (!id) return;
    const r = this.state.rooms[id];
    if (r && (!r.historyLoaded || r.historyStale) && !this.loadingLatest.has(id)) {
      void this.loadLatest(id);
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer || this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.loadRooms(false).catch(() => {});
    }, this.o.refreshDelayMs ?? 300);
  }

  /** Reloads the room list (counts, previews, new rooms). */
  loadRooms(prune: boolean): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.store.update((s) => ({ ...s, countsDirty: false }));
    this.refreshing = (async () => {
      try {
        const res = await this.o.clients.rooms.listMyRooms({ pageSize: 200 });
        this.dispatch((s) => roomsLoaded(s, res.rooms, prune));
        // Rooms the feed has not placed yet resume from this snapshot, so
        // nothing between the snapshot and the stream is missed.
        this.feed.feed.seed(feedPositions(this.state));
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** The room on screen (undefined: none). Loads its history when needed. */
  viewRoom(id: Id | undefined): void {
    if (this.openRoomId && this.openRoomId !== id) this.setTyping(this.openRoomId, false);
    this.openRoomId = id;
    this.ensureOpenRoomLoaded();
  }

  /** Loads the newest page of a room (again, quietly after a reset). */
  async loadLatest(id: Id): Promise<void> {
    const r = this.state.rooms[id];
    if (!r || this.loadingLatest.has(id)) return;
    this.loadingLatest.add(id);
    try {
      const [page, members] = await Promise.all([
        this.o.clients.messages.listMessages({ roomId: r.room.id, limit: this.o.pageSize ?? 50 }),
        this.o.clients.rooms
          .listMembers({ roomId: r.room.id, pageSize: 200 })
          .catch(() => undefined),
      ]);
      if (members) this.rememberUsers(members.members.map((m) => m.user));
      this.dispatch((s) => historyLoaded(s, id, page, "latest"));
      this.ensureUsers(page.messages.map((m) => m.senderId));
    } catch (err) {
      if (CE.from(err).code === Code.NotFound) this.dispatch((s) => roomDropped(s, id));
    } finally {
      this.loadingLatest.delete(id);
    }
  }

  /** Loads the page before the oldest message shown. */
  async loadOlder(id: Id): Promise<boolean> {
    const r = this.state.rooms[id];
    const first = r?.messages[0];
    if (!r || !first || !r.hasMoreBefore || this.loadingOlder.has(id)) return false;
    this.loadingOlder.add(id);
    try {
      const page = await this.o.clients.messages.listMessages({
        roomId: r.room.id,
        anchor: { case: "beforeSeq", value: first.seq },
        limit: this.o.pageSize ?? 50,
      });
      this.dispatch((s) => historyLoaded(s, id, page, "older"));
      this.ensureUsers(page.messages.map((m) => m.senderId));
      return true;
    } finally {
      this.loadingOlder.delete(id);
    }
  }

  isLoadingOlder(id: Id): boolean {
    return this.loadingOlder.has(id);
  }

  rememberUsers(list: (User | undefined)[]): void {
    this.store.update((s) => usersSeen(s, list));
  }

  /** Fetches users we have no name for. */
  ensureUsers(ids: bigint[]): void {
    for (const n of ids) {
      const id = idOf(n);
      if (n === 0n || this.state.users[id] || this.userFetches.has(id)) continue;
      this.userFetches.add(id);
      this.o.clients.users
        .getUser({ lookup: { case: "id", value: n } })
        .then((res) => this.rememberUsers([res.user]))
        .catch(() => {})
        .finally(() => this.userFetches.delete(id));
    }
  }

  /** Sends a message optimistically; returns its client id. */
  send(roomId: Id, text: string, replyTo?: Message): string {
    const clientMsgId = this.o.newId ? this.o.newId() : crypto.randomUUID();
    this.dispatch((s) =>
      pendingAdded(s, roomId, {
        clientMsgId,
        text,
        replyToId: replyTo?.id ?? 0n,
        replyTo: replyTo
          ? {
              $typeName: "chat.v1.ReplyPreview",
              messageId: replyTo.id,
              seq: replyTo.seq,
              senderId: replyTo.senderId,
              text: replyTo.text.slice(0, 200),
              deleted: replyTo.deleted,
            }
          : undefined,
        status: "pending",
        createdAt: this.now(),
      }),
    );
    this.setTyping(roomId, false);
    void this.trySend(roomId, clientMsgId);
    return clientMsgId;
  }

  /** Sends a failed message again, with the same client id (no duplicate). */
  retry(roomId: Id, clientMsgId: string): void {
    const p = this.state.rooms[roomId]?.pending.find((x) => x.clientMsgId === clientMsgId);
    if (!p) return;
    this.dispatch((s) => pendingAdded(s, roomId, { ...p, status: "pending", error: undefined }));
    void this.trySend(roomId, clientMsgId);
  }

  discard(roomId: Id, clientMsgId: string): void {
    this.dispatch((s) => pendingDropped(s, roomId, clientMsgId));
  }

  private async trySend(roomId: Id, clientMsgId: string): Promise<void> {
    const r = this.state.rooms[roomId];
    const p = r?.pending.find((x) => x.clientMsgId === clientMsgId);
    if (!r || !p) return;
    try {
      const res = await this.o.clients.messages.sendMessage({
        roomId: r.room.id,
        text: p.text,
        clientMsgId,
        replyToId: p.replyToId,
      });
      const m = res.message;
      if (m) this.dispatch((s) => pendingSent(s, roomId, m));
    } catch (err) {
      const block = blockOf(err, this.now());
      if (block) {
        // Not a failure to retry by hand: the text goes back to the composer,
        // which counts down to when sending is allowed again.
        this.dispatch((s) => pendingDropped(s, roomId, clientMsgId));
        this.blocks.update((b) => blocked(b, roomId, block, p.text));
        return;
      }
      this.dispatch((s) => pendingFailed(s, roomId, clientMsgId, errorText(err)));
    }
  }

  /** Holds back sends to a room (an error that carried RetryInfo, see send-blocks.ts). */
  holdSends(roomId: Id, block: Omit<SendBlock, "returned">, returnedText?: string): void {
    this.blocks.update((b) => blocked(b, roomId, block, returnedText));
  }

  /** The caller is muted in a room until `until` (undefined: not muted). */
  mutedUntil(roomId: Id, until: Date | undefined): void {
    if (until && until.getTime() > this.now()) {
      this.blocks.update((b) =>
        blocked(unmuted(b, roomId), roomId, { kind: "muted", until: until.getTime() }),
      );
    } else {
      this.blocks.update((b) => unmuted(b, roomId));
    }
  }

  /** Takes the texts of refused sends to a room (the composer puts them back). */
  takeReturned(roomId: Id): string[] {
    const texts = this.blocks.getState()[roomId]?.returned ?? [];
    if (texts.length === 0) return [];
    this.blocks.update((b) => {
      const old = b[roomId];
      return old ? expired({ ...b, [roomId]: { ...old, returned: [] } }, roomId, this.now()) : b;
    });
    return texts;
  }

  /** Forgets a room's block once it has run out. */
  blockEnded(roomId: Id): void {
    this.blocks.update((b) => expired(b, roomId, this.now()));
  }

  async edit(roomId: Id, messageId: bigint, text: string): Promise<void> {
    const res = await this.o.clients.messages.editMessage({ messageId, text });
    const m = res.message;
    if (m) this.dispatch((s) => messageUpdated(s, roomId, m));
  }

  async remove(roomId: Id, messageId: bigint): Promise<void> {
    const res = await this.o.clients.messages.deleteMessage({ messageId });
    const m = res.message;
    if (m) this.dispatch((s) => messageUpdated(s, roomId, m));
  }

  async toggleReaction(roomId: Id, message: Message, emoji: string): Promise<void> {
    const mine = message.reactions.find((r) => r.emoji === emoji)?.me ?? false;
    const res = mine
      ? await this.o.clients.messages.removeReaction({ messageId: message.id, emoji })
      : await this.o.clients.messages.addReaction({ messageId: message.id, emoji });
    this.dispatch((s) => reactionsUpdated(s, roomId, message.id, res.reactions));
  }

  /** Messages up to `seq` were seen: move the read marker (debounced). */
  markRead(roomId: Id, seq: bigint): void {
    const r = this.state.rooms[roomId];
    if (!r || seq <= r.lastReadSeq) return;
    const wanted = this.markWanted.get(roomId) ?? 0n;
    if (seq <= wanted && this.markTimers.has(roomId)) return;
    this.markWanted.set(roomId, seq > wanted ? seq : wanted);
    if (this.markTimers.has(roomId)) return;
    this.markTimers.set(
      roomId,
      setTimeout(() => {
        this.markTimers.delete(roomId);
        const target = this.markWanted.get(roomId) ?? 0n;
        this.markWanted.delete(roomId);
        const room = this.state.rooms[roomId];
        if (!room || target <= room.lastReadSeq) return;
        this.o.clients.messages
          .markRead({ roomId: room.room.id, seq: target })
          .then((res) => this.dispatch((s) => markedRead(s, roomId, res)))
          .catch(() => {});
      }, this.o.markReadDelayMs ?? 250),
    );
  }

  /** The user is typing (or stopped): tell the room, throttled. */
  setTyping(roomId: Id, typing: boolean): void {
    const r = this.state.rooms[roomId];
    if (!r) return;
    const sent = this.typingSent.get(roomId);
    const call = (value: boolean) =>
      this.o.clients.feed.setTyping({ roomId: r.room.id, typing: value }).catch(() => {});
    if (!typing) {
      if (!sent) return;
      clearTimeout(sent.idle);
      this.typingSent.delete(roomId);
      void call(false);
      return;
    }
    const now = this.now();
    if (sent) clearTimeout(sent.idle);
    const idle = setTimeout(() => this.setTyping(roomId, false), TYPING_IDLE_MS);
    if (!sent || now - sent.at >= TYPING_REPEAT_MS) {
      this.typingSent.set(roomId, { at: now, idle });
      void call(true);
    } else {
      this.typingSent.set(roomId, { at: sent.at, idle });
    }
  }

  async createRoom(name: string, visibility: Visibility, memberIds: bigint[]): Promise<Id> {
    const res = await this.o.clients.rooms.createRoom({ name, visibility, memberIds });
    await this.loadRooms(false).catch(() => {});
    return idOf(res.room?.id ?? 0n);
  }

  async joinRoom(roomId: bigint): Promise<Id> {
    await this.o.clients.rooms.joinRoom({ roomId });
    await this.loadRooms(false).catch(() => {});
    return idOf(roomId);
  }

  async openDirect(userId: bigint): Promise<Id> {
    const res = await this.o.clients.rooms.openDirect({ userId });
    await this.loadRooms(false).catch(() => {});
    return idOf(res.room?.id ?? 0n);
  }

  /**
   * Starts a group conversation (named when `name` is given); returns its id
   * and who was sent an invitation instead of being added (consent).
   */
  async createGroupDirect(
    userIds: bigint[],
    name?: string,
  ): Promise<{ id: Id; invited: bigint[] }> {
    const res = await this.o.clients.rooms.createGroupDirect({ userIds });
    const roomId = res.room?.id ?? 0n;
    if (name) await this.o.clients.rooms.updateRoom({ roomId, name });
    await this.loadRooms(false).catch(() => {});
    return { id: idOf(roomId), invited: res.invitedUserIds };
  }

  /** Makes a room read-only for good (owner). */
  async archiveRoom(roomId: Id): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.archiveRoom({ roomId: r.room.id });
  }

  /** Sets a room's slow mode (0: off). */
  async setSlowMode(roomId: Id, seconds: number): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.updateRoom({ roomId: r.room.id, slowModeSeconds: seconds });
  }

  async unban(roomId: Id, userId: bigint): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.unbanMember({ roomId: r.room.id, userId });
  }

  async leaveRoom(roomId: Id): Promise<void> {
    const r = this.state.rooms[roomId];
    if (!r) return;
    await this.o.clients.rooms.leaveRoom({ roomId: r.room.id });
    this.dispatch((s) => roomDropped(s, roomId));
  }

  async renameRoom(roomId: Id, name: string, description?: string): Promise<void> {
    const r = this.state.rooms[roomId];
    if (!r) return;
    await this.o.clients.rooms.updateRoom({ roomId: r.room.id, name, description });
  }

  /** Adds people to a room; returns those who were sent an invitation instead (consent). */
  async invite(roomId: Id, userIds: bigint[]): Promise<bigint[]> {
    const r = this.state.rooms[roomId];
    if (!r || userIds.length === 0) return [];
    const res = await this.o.clients.rooms.inviteMembers({ roomId: r.room.id, userIds });
    this.rememberUsers(res.added.map((m) => m.user));
    return res.invitedUserIds;
  }

  async kick(roomId: Id, userId: bigint): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.kickMember({ roomId: r.room.id, userId });
  }

  async ban(roomId: Id, userId: bigint): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.banMember({ roomId: r.room.id, userId });
  }

  async setRole(roomId: Id, userId: bigint, role: MemberRole): Promise<void> {
    const r = this.state.rooms[roomId];
    if (r) await this.o.clients.rooms.setMemberRole({ roomId: r.room.id, userId, role });
  }
}

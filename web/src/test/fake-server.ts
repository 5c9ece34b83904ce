/**
 * A fake chat server for component tests: real generated service
 * definitions on `createRouterTransport`, with just enough in-memory
 * behaviour (accounts, tokens, rooms, messages, a controllable feed).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createRouterTransport,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import {
  AuthService,
  type FeedEvent,
  FeedEventSchema,
  FeedService,
  type Member,
  MemberRole,
  type Message,
  MessageKind,
  MessageSchema,
  MessageService,
  type MyRoom,
  MyRoomSchema,
  RoomKind,
  RoomSchema,
  RoomService,
  type SendMessageRequest,
  type User,
  UserSchema,
  UserService,
  Visibility,
} from "@protochat/sdk";
import { AddPolicy, ConsentService, type Invitation } from "../../../gen/chat/v1/consent_pb.js";
import {
  ModerationService,
  type ReportMessageRequest,
} from "../../../gen/chat/v1/moderation_pb.js";
import { authInterceptor } from "../api/transport.js";

/** An async queue a streaming handler reads from. */
class Channel<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  private error: unknown;
  private closed = false;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  fail(err: unknown): void {
    this.error = err;
    this.closed = true;
    this.wake?.();
  }

  async *drain(signal: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        const next = this.items.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.closed) {
          if (this.error) throw this.error;
          return;
        }
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

export const t0 = Date.UTC(2025, 2, 3, 12, 0, 0);

export function user(id: bigint, username: string, displayName = ""): User {
  return create(UserSchema, { id, username, displayName });
}

export function textMessage(
  roomId: bigint,
  seq: bigint,
  senderId: bigint,
  text: string,
  extra: MessageInitShape<typeof MessageSchema> = {},
): Message {
  return create(MessageSchema, {
    id: 1000n + seq,
    roomId,
    seq,
    senderId,
    kind: MessageKind.TEXT,
    text,
    createTime: timestampFromMs(t0 + Number(seq) * 60_000),
    ...extra,
  });
}

export function myRoom(
  id: bigint,
  name: string,
  lastSeq: bigint,
  extra: { unread?: number; mentions?: number; activityMs?: number; lastMessage?: Message } = {},
): MyRoom {
  return create(MyRoomSchema, {
    room: create(RoomSchema, {
      id,
      name,
      kind: RoomKind.CHANNEL,
      visibility: Visibility.PUBLIC,
      memberCount: 2,
      lastSeq,
      createTime: timestampFromMs(t0),
      lastActivityTime: timestampFromMs(extra.activityMs ?? t0),
    }),
    role: MemberRole.MEMBER,
    unreadCount: extra.unread ?? 0,
    mentionCount: extra.mentions ?? 0,
    lastMessage: extra.lastMessage,
  });
}

export class FakeChat {
  readonly users = new Map<string, { user: User; password: string }>();
  readonly tokens = new Map<string, User>();
  rooms: MyRoom[] = [];
  readonly history = new Map<bigint, Message[]>();
  /** Positions sent by each Subscribe call. */
  readonly subscribes: { roomId: bigint; lastSeq: bigint }[][] = [];
  readonly sends: SendMessageRequest[] = [];
  readonly markReads: { roomId: bigint; seq: bigint }[] = [];
  /** Members per room (ListMembers). */
  readonly members = new Map<bigint, Member[]>();
  /** Banned users per room (ListMembers with `banned`). */
  readonly banned = new Map<bigint, Member[]>();
  /** Moderation and consent calls, in order: method name and request. */
  readonly calls: { method: string; req: unknown }[] = [];
  /** The caller's pending invitations (ConsentService). */
  invitations: Invitation[] = [];
  /** Rooms an accepted invitation adds to ListMyRooms, by invitation id. */
  readonly invitationRooms = new Map<bigint, MyRoom>();
  whoMayAdd = AddPolicy.UNSPECIFIED;
  /** Users whose consent an add needs: CreateGroupDirect invites them instead. */
  readonly askFirst = new Set<bigint>();
  /** GetRoom's muted_until for the caller, per room (ms). */
  readonly mutedUntil = new Map<bigint, number>();
  /** Decides each SendMessage: resolve to store, reject to fail. */
  sendGate: (req: SendMessageRequest) => Promise<void> = async () => {};
  private feed: Channel<FeedEvent> | undefined;
  private feedWaiters: (() => void)[] = [];
  private nextUserId = 1n;

  addUser(username: string, password: string, displayName = ""): User {
    const u = user(this.nextUserId++, username, displayName);
    this.users.set(username.toLowerCase(), { user: u, password });
    return u;
  }

  /** A token for `u`, as Login would return it. */
  tokenFor(u: User): string {
    const token = `token-${u.username}-${this.tokens.size}`;
    this.tokens.set(token, u);
    return token;
  }

  revokeAll(): void {
    this.tokens.clear();
  }

  private caller(ctx: HandlerContext): User {
    const h = ctx.requestHeader.get("authorization") ?? "";
    const u = this.tokens.get(h.replace(/^Bearer /, ""));
    if (!u) throw new ConnectError("the access token is invalid", Code.Unauthenticated);
    return u;
  }

  /** Resolves once a feed stream is open (after `ready`). */
  feedOpen(): Promise<void> {
    if (this.feed) return Promise.resolve();
    return new Promise((resolve) => this.feedWaiters.push(resolve));
  }

  /** Sends a feed event on the open stream. */
  emit(event: MessageInitShape<typeof FeedEventSchema>): void {
    if (!this.feed) throw new Error("no feed stream open");
    this.feed.push(create(FeedEventSchema, event));
  }

  /** Ends the open stream with an error. */
  dropFeed(code = Code.Unavailable): void {
    const f = this.feed;
    this.feed = undefined;
    f?.fail(new ConnectError("stream ended", code));
  }

  /** Blocks by blocker id (ModerationService). */
  blocks = new Map<bigint, Set<bigint>>();
  /** ReportMessage calls received. */
  reports: ReportMessageRequest[] = [];

  routes = (router: ConnectRouter): void => {
    const self = this;
    router.service(AuthService, {
      register: (req) => {
        if (this.users.has(req.username.toLowerCase())) {
          throw new ConnectError("username taken", Code.AlreadyExists);
        }
        return { user: this.addUser(req.username, req.password, req.displayName) };
      },
      login: (req) => {
        const entry = this.users.get(req.username.toLowerCase());
        if (!entry || entry.password !== req.password) {
          throw new ConnectError("bad credentials", Code.Unauthenticated);
        }
        return { accessToken: this.tokenFor(entry.user), user: entry.user };
      },
      logout: (_req, ctx) => {
        this.caller(ctx);
        this.tokens.delete((ctx.requestHeader.get("authorization") ?? "").slice(7));
        return {};
      },
      logoutAll: () => ({ revokedSessions: 0 }),
    });
    router.service(UserService, {
      getMe: (_req, ctx) => ({ user: this.caller(ctx) }),
      getUser: (req, ctx) => {
        this.caller(ctx);
        for (const { user } of this.users.values()) {
          if (req.lookup.case === "id" && user.id === req.lookup.value) return { user };
        }
        throw new ConnectError("no such user", Code.NotFound);
      },
      searchUsers: (req, ctx) => {
        this.caller(ctx);
        const users = [...this.users.values()]
          .map((e) => e.user)
          .filter((u) => u.username.startsWith(req.prefix.toLowerCase()));
        return { users };
      },
    });
    router.service(RoomService, {
      listMyRooms: (_req, ctx) => {
        this.caller(ctx);
        return { rooms: this.rooms };
      },
      listMembers: (req, ctx) => {
        this.caller(ctx);
        const from = req.banned ? this.banned : this.members;
        return { members: from.get(req.roomId) ?? [] };
      },
      getRoom: (req, ctx) => {
        this.caller(ctx);
        const r = this.rooms.find((x) => x.room?.id === req.roomId);
        if (!r) throw new ConnectError("room not found", Code.NotFound);
        const muted = this.mutedUntil.get(req.roomId);
        return {
          room: r.room,
          myRole: r.role,
          lastReadSeq: r.lastReadSeq,
          mutedUntil: muted ? timestampFromMs(muted) : undefined,
        };
      },
      updateRoom: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "updateRoom", req });
        const room = this.rooms.find((x) => x.room?.id === req.roomId)?.room;
        if (!room) throw new ConnectError("room not found", Code.NotFound);
        if (req.slowModeSeconds !== undefined) room.slowModeSeconds = req.slowModeSeconds;
        if (req.name !== undefined) room.name = req.name;
        return { room };
      },
      archiveRoom: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "archiveRoom", req });
        const room = this.rooms.find((x) => x.room?.id === req.roomId)?.room;
        if (!room) throw new ConnectError("room not found", Code.NotFound);
        room.archiveTime = timestampFromMs(Date.now());
        return { room };
      },
      createGroupDirect: (req, ctx) => {
        const me = this.caller(ctx);
        this.calls.push({ method: "createGroupDirect", req });
        const id = 100n + BigInt(this.rooms.length);
        const peers = [...this.users.values()]
          .map((e) => e.user)
          .filter(
            (u) => u.id === me.id || (req.userIds.includes(u.id) && !this.askFirst.has(u.id)),
          );
        const mine = create(MyRoomSchema, {
          room: create(RoomSchema, {
            id,
            kind: RoomKind.GROUP_DIRECT,
            visibility: Visibility.PRIVATE,
            memberCount: peers.length,
            lastSeq: 1n,
            createTime: timestampFromMs(t0),
            lastActivityTime: timestampFromMs(t0),
          }),
          role: MemberRole.OWNER,
          peers,
        });
        this.rooms = [...this.rooms, mine];
        return {
          room: mine.room,
          invitedUserIds: req.userIds.filter((id) => this.askFirst.has(id)),
        };
      },
      kickMember: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "kickMember", req });
        this.dropMember(req.roomId, req.userId);
        return {};
      },
      banMember: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "banMember", req });
        const m = this.dropMember(req.roomId, req.userId);
        if (m) this.banned.set(req.roomId, [...(this.banned.get(req.roomId) ?? []), m]);
        return {};
      },
      unbanMember: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "unbanMember", req });
        const list = this.banned.get(req.roomId) ?? [];
        this.banned.set(
          req.roomId,
          list.filter((m) => m.user?.id !== req.userId),
        );
        return {};
      },
    });
    router.service(ModerationService, {
      muteMember: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "muteMember", req });
        const until = timestampFromMs(Date.now() + req.durationSeconds * 1000);
        for (const m of this.members.get(req.roomId) ?? []) {
          if (m.user?.id === req.userId) m.mutedUntil = until;
        }
        return { until, seq: 1n };
      },
      unmuteMember: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "unmuteMember", req });
        for (const m of this.members.get(req.roomId) ?? []) {
          if (m.user?.id === req.userId) m.mutedUntil = undefined;
        }
        return { seq: 1n };
      },
      listBlockedUsers: (_req, ctx) => {
        const me = this.caller(ctx);
        const mine = this.blocks.get(me.id) ?? new Set<bigint>();
        const users = [...this.users.values()].map((e) => e.user);
        return {
          blocked: [...mine].map((id) => ({ user: users.find((u) => u.id === id) })),
        };
      },
      blockUser: (req, ctx) => {
        const me = this.caller(ctx);
        const mine = this.blocks.get(me.id) ?? new Set<bigint>();
        mine.add(req.userId);
        this.blocks.set(me.id, mine);
        return {};
      },
      unblockUser: (req, ctx) => {
        this.blocks.get(this.caller(ctx).id)?.delete(req.userId);
        return {};
      },
      reportMessage: (req, ctx) => {
        const me = this.caller(ctx);
        this.reports.push(req);
        return {
          report: { id: BigInt(this.reports.length), roomId: req.roomId, reporterId: me.id },
        };
      },
    });
    router.service(ConsentService, {
      getPrivacy: (_req, ctx) => {
        this.caller(ctx);
        return {
          whoMayAdd: this.whoMayAdd,
          effectiveWhoMayAdd:
            this.whoMayAdd === AddPolicy.UNSPECIFIED ? AddPolicy.SHARED_ROOM : this.whoMayAdd,
        };
      },
      setPrivacy: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "setPrivacy", req });
        this.whoMayAdd = req.whoMayAdd;
        return { whoMayAdd: req.whoMayAdd, effectiveWhoMayAdd: req.whoMayAdd };
      },
      listInvitations: (_req, ctx) => {
        this.caller(ctx);
        return { invitations: this.invitations };
      },
      acceptInvitation: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "acceptInvitation", req });
        const inv = this.invitations.find((i) => i.id === req.invitationId);
        const joined = this.invitationRooms.get(req.invitationId);
        if (!inv || !joined) throw new ConnectError("invitation not found", Code.NotFound);
        this.invitations = this.invitations.filter((i) => i !== inv);
        this.rooms = [...this.rooms, joined];
        return { room: joined.room };
      },
      declineInvitation: (req, ctx) => {
        this.caller(ctx);
        this.calls.push({ method: "declineInvitation", req });
        this.invitations = this.invitations.filter((i) => i.id !== req.invitationId);
        return {};
      },
    });
    router.service(MessageService, {
      listMessages: (req, ctx) => {
        this.caller(ctx);
        const all = this.history.get(req.roomId) ?? [];
        const room = this.rooms.find((r) => r.room?.id === req.roomId);
        return { messages: all, lastSeq: room?.room?.lastSeq ?? 0n, hasMoreBefore: false };
      },
      sendMessage: async (req, ctx) => {
        const me = this.caller(ctx);
        this.sends.push(req);
        await this.sendGate(req);
        const list = this.history.get(req.roomId) ?? [];
        const existing = list.find(
          (m) => m.clientMsgId === req.clientMsgId && m.senderId === me.id,
        );
        if (existing) return { message: existing, duplicate: true };
        const room = this.rooms.find((r) => r.room?.id === req.roomId)?.room;
        if (!room) throw new ConnectError("no such room", Code.NotFound);
        room.lastSeq += 1n;
        const message = textMessage(req.roomId, room.lastSeq, me.id, req.text, {
          clientMsgId: req.clientMsgId,
        });
        list.push(message);
        this.history.set(req.roomId, list);
        return { message, duplicate: false };
      },
      markRead: (req, ctx) => {
        this.caller(ctx);
        this.markReads.push({ roomId: req.roomId, seq: req.seq });
        const r = this.rooms.find((x) => x.room?.id === req.roomId);
        if (r) {
          r.lastReadSeq = req.seq;
          r.unreadCount = 0;
          r.mentionCount = 0;
        }
        return { lastReadSeq: req.seq, unreadCount: 0, mentionCount: 0 };
      },
    });
    router.service(FeedService, {
      async *subscribe(req, ctx) {
        self.caller(ctx);
        self.subscribes.push(req.positions.map((p) => ({ roomId: p.roomId, lastSeq: p.lastSeq })));
        const channel = new Channel<FeedEvent>();
        self.feed = channel;
        yield {
          event: create(FeedEventSchema, {
            event: {
              case: "ready",
              value: {
                rooms: self.rooms.map((r) => ({ roomId: r.room?.id, lastSeq: r.room?.lastSeq })),
                heartbeatIntervalMs: 15_000,
              },
            },
          }),
        };
        for (const w of self.feedWaiters.splice(0)) w();
        for await (const event of channel.drain(ctx.signal)) yield { event };
      },
      setTyping: (_req, ctx) => {
        this.caller(ctx);
        return {};
      },
    });
  };

  /** Takes a user out of a room's member list; returns their membership. */
  private dropMember(roomId: bigint, userId: bigint): Member | undefined {
    const list = this.members.get(roomId) ?? [];
    const m = list.find((x) => x.user?.id === userId);
    this.members.set(
      roomId,
      list.filter((x) => x !== m),
    );
    return m;
  }

  /** A transport to this fake, with the app's own auth interceptor. */
  transport(hooks: Parameters<typeof authInterceptor>[0]): Transport {
    return createRouterTransport(this.routes, {
      transport: { interceptors: [authInterceptor(hooks)] },
    });
  }
}

/**
 * An in-memory chat server for the SDK's unit tests, on createRouterTransport
 * with the SDK's own generated services: rooms with dense event sequences,
 * tokens, a Subscribe and a Chat that resume from positions (with `reset`
 * past `maxReplay`), and switches to misbehave (drop streams with a code,
 * replay too much, skip an event, fail sends).
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createRouterTransport,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { AsyncQueue } from "../src/async-queue.js";
import {
  AuthService,
  type ChatResponse,
  ChatResponseSchema,
  type FeedEvent,
  FeedEventSchema,
  FeedService,
  type Message,
  MessageKind,
  MessageSchema,
  MessageService,
  type RoomEvent,
  RoomEventSchema,
  RoomSchema,
  RoomService,
  type SendMessageRequest,
  type SendMessageResponse,
  SendMessageResponseSchema,
  UserService,
} from "../src/index.js";

interface FakeRoom {
  id: bigint;
  events: RoomEvent[];
  messages: Message[];
  members: Set<bigint>;
}

/** One open feed stream of the fake. */
interface OpenFeed {
  userId: bigint;
  queue: AsyncQueue<FeedEvent>;
  /** Per room: next sequence owed (live events below it are not sent). */
  next: Map<bigint, bigint>;
}

export class FakeChat {
  readonly rooms = new Map<bigint, FakeRoom>();
  readonly tokens = new Map<string, bigint>();
  /** Positions of each Subscribe (or Chat subscribe), by call. */
  readonly subscribes: { roomId: bigint; lastSeq: bigint }[][] = [];
  /** Tokens each feed call carried. */
  readonly feedTokens: string[] = [];
  readonly sends: SendMessageRequest[] = [];
  readonly listMessagesCalls: { roomId: bigint; beforeSeq?: bigint; limit: number }[] = [];
  maxReplay = 100;
  /** The next feed call fails with this error (once). */
  refuseNextFeed: ConnectError | undefined;
  heartbeatMs = 15_000;
  /** Replay this many already-delivered events again on resume (a faulty server). */
  overlapOnResume = 0n;
  /** Decides each SendMessage before it is stored; throw to fail it. */
  sendGate: (req: SendMessageRequest, attempt: number) => Promise<void> | void = () => {};
  /** Decides each SendMessage after it is stored; throw to lose the answer. */
  sendAfter: (req: SendMessageRequest, attempt: number) => Promise<void> | void = () => {};
  private feeds = new Set<OpenFeed>();
  private feedWaiters: (() => void)[] = [];
  private nextMessageId = 1n;

  /** A user and a token for them. */
  login(userId: bigint, token = `t${userId}-${this.tokens.size}`): string {
    this.tokens.set(token, userId);
    return token;
  }

  addRoom(id: bigint, members: bigint[], events = 0): FakeRoom {
    const room: FakeRoom = { id, events: [], messages: [], members: new Set(members) };
    this.rooms.set(id, room);
    for (let i = 0; i < events; i++) this.post(id, members[0] ?? 1n, `m${i + 1}`);
    return room;
  }

  /** Appends a message event to a room and delivers it to open feeds. */
  post(roomId: bigint, senderId: bigint, text: string, clientMsgId = ""): Message {
    const room = this.mustRoom(roomId);
    const seq = BigInt(room.events.length + 1);
    const message = create(MessageSchema, {
      id: this.nextMessageId++,
      roomId,
      seq,
      senderId,
      clientMsgId,
      kind: MessageKind.TEXT,
      text,
    });
    room.messages.push(message);
    this.append(room, {
      roomId,
      seq,
      actorId: senderId,
      change: { case: "messageCreated", value: { message } },
    });
    return message;
  }

  /** Appends a room event with the next sequence. */
  private append(room: FakeRoom, init: Parameters<typeof create<typeof RoomEventSchema>>[1]) {
    const ev = create(RoomEventSchema, init);
    room.events.push(ev);
    for (const f of this.feeds) {
      const next = f.next.get(room.id);
      if (next === undefined || ev.seq < next) continue;
      f.next.set(room.id, ev.seq + 1n);
      f.queue.push(create(FeedEventSchema, { event: { case: "roomEvent", value: ev } }));
    }
  }

  /** Sends a raw event to every open feed (typing, presence, a gap...). */
  emit(event: FeedEvent): void {
    for (const f of this.feeds) f.queue.push(event);
  }

  /** Removes a member (no event: as if it happened while the client was away). */
  removeMember(roomId: bigint, userId: bigint): void {
    this.mustRoom(roomId).members.delete(userId);
  }

  /** Ends every open feed with `code`. */
  drop(code = Code.Unavailable, message = "dropped by the test"): void {
    for (const f of this.feeds) f.queue.end(new ConnectError(message, code));
    this.feeds.clear();
  }

  /** Resolves when `n` feeds in all have been opened (and sent `ready`). */
  async feedsOpened(n: number): Promise<void> {
    while (this.subscribes.length < n || this.feeds.size === 0) {
      await new Promise<void>((resolve) => this.feedWaiters.push(resolve));
    }
  }

  get openFeeds(): number {
    return this.feeds.size;
  }

  private mustRoom(id: bigint): FakeRoom {
    const r = this.rooms.get(id);
    if (!r) throw new Error(`no room ${id}`);
    return r;
  }

  private caller(ctx: HandlerContext): bigint {
    const token = (ctx.requestHeader.get("authorization") ?? "").replace(/^Bearer /, "");
    const id = this.tokens.get(token);
    if (id === undefined)
      throw new ConnectError("the access token is invalid", Code.Unauthenticated);
    return id;
  }

  /** Opens a feed: validates positions, queues ready, replays, goes live. */
  private openFeed(
    userId: bigint,
    positions: { roomId: bigint; lastSeq: bigint }[],
    token: string,
  ): OpenFeed {
    this.subscribes.push(positions.map((p) => ({ roomId: p.roomId, lastSeq: p.lastSeq })));
    this.feedTokens.push(token);
    const refusal = this.refuseNextFeed;
    this.refuseNextFeed = undefined;
    if (refusal) throw refusal;
    const mine = [...this.rooms.values()].filter((r) => r.members.has(userId));
    for (const p of positions) {
      const room = this.rooms.get(p.roomId);
      if (!room?.members.has(userId)) throw new ConnectError("room not found", Code.NotFound);
      if (p.lastSeq > BigInt(room.events.length)) {
        throw new ConnectError("position beyond the room's last sequence", Code.InvalidArgument);
      }
    }
    const feed: OpenFeed = { userId, queue: new AsyncQueue(), next: new Map() };
    feed.queue.push(
      create(FeedEventSchema, {
        event: {
          case: "ready",
          value: {
            rooms: mine.map((r) => ({ roomId: r.id, lastSeq: BigInt(r.events.length) })),
            serverTime: timestampNow(),
            heartbeatIntervalMs: this.heartbeatMs,
          },
        },
      }),
    );
    for (const room of mine) {
      const head = BigInt(room.events.length);
      const p = positions.find((x) => x.roomId === room.id);
      let after = p ? p.lastSeq : head;
      if (p && head - after > BigInt(this.maxReplay)) {
        feed.queue.push(
          create(FeedEventSchema, {
            event: { case: "reset", value: { roomId: room.id, reason: 1, lastSeq: head } },
          }),
        );
        after = head;
      } else if (p && this.overlapOnResume > 0n) {
        after = after > this.overlapOnResume ? after - this.overlapOnResume : 0n;
      }
      for (const ev of room.events.slice(Number(after))) {
        feed.queue.push(create(FeedEventSchema, { event: { case: "roomEvent", value: ev } }));
      }
      feed.next.set(room.id, head + 1n);
    }
    this.feeds.add(feed);
    for (const w of this.feedWaiters.splice(0)) w();
    return feed;
  }

  private async storeSend(userId: bigint, req: SendMessageRequest): Promise<SendMessageResponse> {
    this.sends.push(req);
    const attempt = this.sends.filter((s) => s.clientMsgId === req.clientMsgId).length - 1;
    await this.sendGate(req, attempt);
    const room = this.rooms.get(req.roomId);
    if (!room?.members.has(userId)) throw new ConnectError("room not found", Code.NotFound);
    const existing = room.messages.find(
      (m) => m.clientMsgId === req.clientMsgId && m.senderId === userId,
    );
    const message = existing ?? this.post(req.roomId, userId, req.text, req.clientMsgId);
    await this.sendAfter(req, attempt);
    return create(SendMessageResponseSchema, { message, duplicate: existing !== undefined });
  }

  routes = (router: ConnectRouter): void => {
    router.service(AuthService, {
      login: (req) => {
        const id = BigInt(req.username.replace(/\D/g, "") || "0");
        if (req.password !== "pw") throw new ConnectError("bad credentials", Code.Unauthenticated);
        return { accessToken: this.login(id), user: { id, username: req.username } };
      },
    });
    router.service(UserService, {
      getMe: (_req, ctx) => ({ user: { id: this.caller(ctx) } }),
    });
    router.service(RoomService, {
      listMyRooms: (_req, ctx) => {
        const me = this.caller(ctx);
        const rooms = [...this.rooms.values()]
          .filter((r) => r.members.has(me))
          .map((r) => ({
            room: create(RoomSchema, { id: r.id, lastSeq: BigInt(r.events.length) }),
          }));
        return { rooms };
      },
    });
    router.service(MessageService, {
      sendMessage: (req, ctx) => this.storeSend(this.caller(ctx), req),
      listMessages: (req, ctx) => {
        this.caller(ctx);
        const room = this.mustRoom(req.roomId);
        const before = req.anchor.case === "beforeSeq" ? req.anchor.value : undefined;
        const after = req.anchor.case === "afterSeq" ? req.anchor.value : undefined;
        this.listMessagesCalls.push({ roomId: req.roomId, beforeSeq: before, limit: req.limit });
        const limit = req.limit || 50;
        let list = room.messages;
        if (before !== undefined) list = list.filter((m) => m.seq < before).slice(-limit);
        else if (after !== undefined) list = list.filter((m) => m.seq > after).slice(0, limit);
        else list = list.slice(-limit);
        const last = list.at(-1)?.seq ?? 0n;
        return {
          messages: list,
          lastSeq: BigInt(room.events.length),
          hasMoreBefore: (list[0]?.seq ?? 1n) > 1n,
          hasMoreAfter: room.messages.some((m) => m.seq > last),
        };
      },
    });
    const self = this;
    router.service(FeedService, {
      async *subscribe(req, ctx) {
        const me = self.caller(ctx);
        const token = (ctx.requestHeader.get("authorization") ?? "").slice(7);
        const feed = self.openFeed(me, req.positions, token);
        // A handler parked at `yield` is not resumed when the client goes.
        ctx.signal.addEventListener("abort", () => self.feeds.delete(feed));
        try {
          for await (const event of drain(feed.queue, ctx.signal)) yield { event };
        } finally {
          self.feeds.delete(feed);
        }
      },
      setTyping: (_req, ctx) => {
        self.caller(ctx);
        return {};
      },
      async *chat(requests, ctx) {
        const me = self.caller(ctx);
        const token = (ctx.requestHeader.get("authorization") ?? "").slice(7);
        const out = new AsyncQueue<ChatResponse>();
        let feed: OpenFeed | undefined;
        const pump = async (f: OpenFeed) => {
          try {
            for await (const event of drain(f.queue, ctx.signal)) {
              out.push(create(ChatResponseSchema, { response: { case: "event", value: event } }));
            }
          } catch (err) {
            out.end(err);
          }
        };
        void (async () => {
          for await (const req of requests) {
            const c = req.command;
            try {
              if (c.case === "subscribe") {
                feed = self.openFeed(me, c.value.positions, token);
                void pump(feed);
                out.push(
                  create(ChatResponseSchema, {
                    response: { case: "ack", value: { requestId: req.requestId } },
                  }),
                );
              } else if (c.case === "sendMessage") {
                const res = await self.storeSend(me, c.value);
                out.push(
                  create(ChatResponseSchema, {
                    response: {
                      case: "ack",
                      value: {
                        requestId: req.requestId,
                        result: { case: "sendMessage", value: res },
                      },
                    },
                  }),
                );
              } else {
                out.push(
                  create(ChatResponseSchema, {
                    response: { case: "ack", value: { requestId: req.requestId } },
                  }),
                );
              }
            } catch (err) {
              const ce = ConnectError.from(err);
              out.push(
                create(ChatResponseSchema, {
                  response: {
                    case: "error",
                    value: {
                      requestId: req.requestId,
                      code: codeToString(ce.code),
                      message: ce.rawMessage,
                    },
                  },
                }),
              );
            }
          }
        })().catch((err: unknown) => out.end(err));
        try {
          for await (const r of drain(out, ctx.signal)) yield r;
        } finally {
          if (feed) self.feeds.delete(feed);
        }
      },
    });
  };

  /** A transport to this fake (no auth: the client adds the token). */
  transport(): Transport {
    return createRouterTransport(this.routes);
  }
}

/** Reads a queue until it ends or the call is cancelled. */
async function* drain<T>(queue: AsyncQueue<T>, signal: AbortSignal): AsyncGenerator<T> {
  const onAbort = () => queue.end();
  signal.addEventListener("abort", onAbort);
  try {
    yield* queue;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A gap: an event with a sequence the client did not expect. */
export function roomEventAt(roomId: bigint, seq: bigint): FeedEvent {
  return create(FeedEventSchema, {
    event: {
      case: "roomEvent",
      value: { roomId, seq, change: { case: "messageDeleted", value: { messageId: 1n } } },
    },
  });
}

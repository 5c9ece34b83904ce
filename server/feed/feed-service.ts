/**
 * chat.v1.FeedService: the live feed (Subscribe), typing (SetTyping) and the
 * bidirectional Chat stream. Streaming handlers are async generators that
 * end on client abort, token revocation, a full queue or shutdown, and
 * release their rooms and channels whichever way they end.
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ErrorReason } from "../../gen/chat/v1/errors_pb.js";
import {
  type ChatRequest,
  type ChatResponse,
  ChatResponseSchema,
  type FeedService,
  SetTypingRequestSchema,
  SetTypingResponseSchema,
  type SubscribeRequest,
  SubscribeRequestSchema,
} from "../../gen/chat/v1/feed_pb.js";
import {
  AddReactionRequestSchema,
  AddReactionResponseSchema,
  DeleteMessageRequestSchema,
  DeleteMessageResponseSchema,
  EditMessageRequestSchema,
  EditMessageResponseSchema,
  MarkReadRequestSchema,
  MarkReadResponseSchema,
  type MessageService,
  RemoveReactionRequestSchema,
  RemoveReactionResponseSchema,
  SendMessageRequestSchema,
  SendMessageResponseSchema,
} from "../../gen/chat/v1/message_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { callerOf } from "../context.js";
import { chatError, invalidArgument } from "../errors.js";
import { validateMessage } from "../interceptors/validation.js";
import { membershipOf, roomNotFound } from "../rooms/access.js";
import type { FeedHub } from "./feed-hub.js";
import type { FeedSession } from "./feed-session.js";
import { frame } from "./frames.js";
import type { Presence } from "./presence.js";
import type { TypingTracker } from "./typing.js";

/** Dependencies of the feed service. */
export interface FeedServiceDeps {
  prisma: PrismaClient;
  feed: FeedHub;
  typing: TypingTracker;
  presence: Presence;
  /** The message service, which Chat commands are executed by. */
  messages: ServiceImpl<typeof MessageService>;
  shutdownSignal: AbortSignal;
  /** Open Subscribe/Chat streams allowed per user (per instance). */
  maxStreamsPerUser: number;
}

/** Creates the FeedService implementation. */
export function createFeedService(deps: FeedServiceDeps): ServiceImpl<typeof FeedService> {
  const { prisma, feed } = deps;

  // Shutdown ends every stream with Unavailable: clients resume elsewhere.
  deps.shutdownSignal.addEventListener("abort", () => {
    for (const s of [...feed.sessions()]) {
      s.fail(
        chatError(
          Code.Unavailable,
          "server is shutting down: reconnect and resume",
          ErrorReason.SHUTTING_DOWN,
        ),
      );
    }
  });

  /** Opens a session for the caller, bound to the call's lifetime. */
  async function openSession(
    ctx: HandlerContext,
  ): Promise<{ session: FeedSession; release: () => void }> {
    const caller = callerOf(ctx);
    if (deps.shutdownSignal.aborted) {
      throw chatError(
        Code.Unavailable,
        "server is shutting down: reconnect and resume",
        ErrorReason.SHUTTING_DOWN,
      );
    }
    const session = await feed.open(caller.userId, caller.sessionId);
    let connId: string;
    try {
      // Registered first, then counted across the cluster (feeds of every
      // instance): concurrent opens cannot all slip under the limit.
      const opened = await deps.presence.connected(caller.userId);
      connId = opened.connId;
      if (opened.openFeeds > deps.maxStreamsPerUser) {
        deps.presence.disconnected(caller.userId, connId, { quiet: true });
        throw new ConnectError(
          `too many open feeds for this user (limit ${deps.maxStreamsPerUser}): close another tab or device first`,
          Code.ResourceExhausted,
        );
      }
    } catch (err) {
      feed.close(session);
      throw err;
    }
    let expiry: NodeJS.Timeout | undefined;
    if (caller.expiresAt) {
      const ms = Math.min(caller.expiresAt.getTime() - Date.now(), 2 ** 31 - 1);
      expiry = setTimeout(
        () =>
          session.fail(
            chatError(
              Code.Unauthenticated,
              "the access token expired: log in again",
              ErrorReason.TOKEN_INVALID,
            ),
          ),
        Math.max(0, ms),
      );
      expiry.unref();
    }
    // A generator parked at `yield` is never resumed once the client has
    // gone, so its `finally` may not run: release on abort as well.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(expiry);
      ctx.signal.removeEventListener("abort", release);
      feed.close(session);
      deps.presence.disconnected(caller.userId, connId);
    };
    ctx.signal.addEventListener("abort", release);
    return { session, release };
  }

  /** Sends `ready`, then starts every room of the user at its position. */
  async function start(
    session: FeedSession,
    userId: bigint,
    req: SubscribeRequest,
    /** Runs once the request is found valid, before anything is sent. */
    beforeReady: () => void = () => {},
  ): Promise<void> {
    const memberships = await prisma.membership.findMany({
      where: { userId, state: "JOINED" },
      select: { roomId: true, room: { select: { lastSeq: true } } },
    });
    const heads = new Map(memberships.map((m) => [m.roomId, m.room.lastSeq]));
    const positions = new Map<bigint, bigint>();
    req.positions.forEach((p, i) => {
      const head = heads.get(p.roomId);
      // Rooms the caller does not belong to are unknown, whatever they are.
      if (head === undefined) throw roomNotFound();
      if (p.lastSeq > head) {
        throw invalidArgument([
          {
            field: `positions[${i}].last_seq`,
            description: `is beyond the room's last sequence ${head}`,
          },
        ]);
      }
      positions.set(p.roomId, p.lastSeq);
    });
    beforeReady();
    session.push(
      frame({
        case: "ready",
        value: {
          rooms: memberships.map((m) => ({ roomId: m.roomId, lastSeq: m.room.lastSeq })),
          serverTime: timestampNow(),
          heartbeatIntervalMs: feed.options.heartbeatMs,
        },
      }),
    );
    // The current presence of fellow members; changes follow as events.
    const online = await deps.presence.onlineCoMembers(userId);
    session.markReady();
    // Paced in the background: the queue drains only once the handler
    // starts yielding, after this function returns.
    void (async () => {
      for (const id of online) {
        await session.roomInQueue(1);
        if (session.ended) return;
        session.push(frame({ case: "presence", value: { userId: id, online: true } }));
      }
    })();
    await Promise.all(
      memberships.map((m) => session.addRoom(m.roomId, positions.get(m.roomId) ?? m.room.lastSeq)),
    );
  }

  function combinedSignal(ctx: HandlerContext): AbortSignal {
    return AbortSignal.any([ctx.signal, deps.shutdownSignal]);
  }

  return {
    async *subscribe(req, ctx) {
      const { session, release } = await openSession(ctx);
      try {
        await start(session, callerOf(ctx).userId, req);
        for await (const item of session.frames(combinedSignal(ctx))) {
          if (item.$typeName === "chat.v1.SubscribeResponse") yield item;
        }
      } finally {
        release();
      }
    },

    async setTyping(req, ctx) {
      const caller = callerOf(ctx);
      const m = await membershipOf(prisma, req.roomId, caller.userId);
      if (m?.state !== "JOINED") throw roomNotFound();
      deps.typing.set(req.roomId, caller.userId, req.typing);
      return create(SetTypingResponseSchema);
    },

    async *chat(requests, ctx) {
      const { session, release } = await openSession(ctx);
      const caller = callerOf(ctx);
      // Commands are read in their own task so that a slow command never
      // stops feed events from flowing, and vice versa.
      const reader = (async () => {
        for await (const req of requests) {
          const response = await runCommand(req, ctx, session, caller.userId).catch(
            (err: unknown) => commandError(req.requestId, err),
          );
          session.push(response);
        }
        // The client closed its side: a stream that never subscribed has
        // nothing more to say; a subscribed one stays open as a feed.
        if (!session.subscribed) session.finish();
      })();
      reader.catch((err: unknown) => session.fail(err));
      try {
        for await (const item of session.frames(combinedSignal(ctx))) {
          yield item.$typeName === "chat.v1.ChatResponse"
            ? item
            : create(ChatResponseSchema, { response: { case: "event", value: item.event ?? {} } });
        }
      } finally {
        release();
      }
    },
  };

  async function runCommand(
    req: ChatRequest,
    ctx: HandlerContext,
    session: FeedSession,
    userId: bigint,
  ): Promise<ChatResponse> {
    if (req.requestId === "" || req.requestId.length > 64) {
      throw invalidArgument([{ field: "request_id", description: "must be 1-64 characters" }]);
    }
    const c = req.command;
    const m = deps.messages;
    const ack = (
      result: Extract<NonNullable<ChatResponse["response"]>, { case: "ack" }>["value"]["result"],
    ) =>
      create(ChatResponseSchema, {
        response: { case: "ack", value: { requestId: req.requestId, result } },
      });
    switch (c.case) {
      case "subscribe":
        validateMessage(SubscribeRequestSchema, c.value);
        // A bad re-subscribe fails before the current subscription changes.
        await start(session, userId, c.value, () => {
          session.resetRooms();
          session.subscribed = true;
        });
        return ack({ case: undefined });
      case "sendMessage":
        validateMessage(SendMessageRequestSchema, c.value);
        return ack({
          case: "sendMessage",
          value: create(SendMessageResponseSchema, await m.sendMessage(c.value, ctx)),
        });
      case "editMessage":
        validateMessage(EditMessageRequestSchema, c.value);
        return ack({
          case: "editMessage",
          value: create(EditMessageResponseSchema, await m.editMessage(c.value, ctx)),
        });
      case "deleteMessage":
        validateMessage(DeleteMessageRequestSchema, c.value);
        return ack({
          case: "deleteMessage",
          value: create(DeleteMessageResponseSchema, await m.deleteMessage(c.value, ctx)),
        });
      case "addReaction":
        validateMessage(AddReactionRequestSchema, c.value);
        return ack({
          case: "addReaction",
          value: create(AddReactionResponseSchema, await m.addReaction(c.value, ctx)),
        });
      case "removeReaction":
        validateMessage(RemoveReactionRequestSchema, c.value);
        return ack({
          case: "removeReaction",
          value: create(RemoveReactionResponseSchema, await m.removeReaction(c.value, ctx)),
        });
      case "markRead":
        validateMessage(MarkReadRequestSchema, c.value);
        return ack({
          case: "markRead",
          value: create(MarkReadResponseSchema, await m.markRead(c.value, ctx)),
        });
      case "setTyping": {
        validateMessage(SetTypingRequestSchema, c.value);
        const mem = await membershipOf(prisma, c.value.roomId, userId);
        if (mem?.state !== "JOINED") throw roomNotFound();
        deps.typing.set(c.value.roomId, userId, c.value.typing);
        return ack({ case: undefined });
      }
      case "ping":
        return ack({ case: undefined });
      default:
        throw invalidArgument([{ field: "command", description: "is required" }]);
    }
  }
}

/** A command's failure, as sent on the stream; internals never leak. */
function commandError(requestId: string, err: unknown): ChatResponse {
  const ce = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal);
  return create(ChatResponseSchema, {
    response: {
      case: "error",
      value: { requestId, code: codeToString(ce.code), message: ce.rawMessage },
    },
  });
}

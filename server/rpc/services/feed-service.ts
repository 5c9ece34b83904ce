/**
 * chat.v1.FeedService: the live feed (Subscribe), typing (SetTyping) and the
 * bidirectional Chat stream. Streaming handlers are async generators that
 * end on client abort, token revocation, a full queue or shutdown, and
 * release their rooms and channels whichever way they end.
 */
import { create } from "@bufbuild/protobuf";
import { AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import {
  type ChatRequest,
  type ChatResponse,
  ChatResponseSchema,
  type FeedService,
  SetTypingRequestSchema,
  SetTypingResponseSchema,
  SubscribeRequestSchema,
} from "../../../gen/chat/v1/feed_pb.js";
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
} from "../../../gen/chat/v1/message_pb.js";
import { membershipOf, roomNotFound } from "../../domain/access.js";
import type { RateLimits } from "../../domain/limits/rate-limits.js";
import { codeToString } from "../../platform/connect-protocol.js";
import { invalidArgument } from "../../platform/errors.js";
import { Frame } from "../../realtime/frames.js";
import type { TypingTracker } from "../../realtime/presence/typing.js";
import type { FeedSession } from "../../realtime/session/feed-session.js";
import type { FeedStreams, OpenSession } from "../../realtime/session/feed-streams.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";
import type { ErrorMasker } from "../interceptors/errors.js";
import { logRpc, protocolOf } from "../interceptors/logging.js";
import { validateMessage } from "../interceptors/validation.js";

/** Dependencies of the feed service. */
export interface FeedServiceDeps {
  prisma: PrismaClient;
  streams: FeedStreams;
  typing: TypingTracker;
  /** The message service, which Chat commands are executed by. */
  messages: ServiceImpl<typeof MessageService>;
  shutdownSignal: AbortSignal;
  logger: Logger;
  /** What a client sees of a failure; Chat commands are masked like calls. */
  mask: ErrorMasker;
  /** Throws Unavailable while the database is known down. */
  checkAvailable: () => void;
  /** Typing and subscribe churn per user (domain/limits/). */
  limits: RateLimits;
}

const chatProcedure = "chat.v1.FeedService/Chat";

/** Creates the FeedService implementation. */
export function createFeedService(deps: FeedServiceDeps): ServiceImpl<typeof FeedService> {
  const { prisma, streams } = deps;

  /** Opens a session for the caller, bound to the call's lifetime. */
  async function openSession(ctx: HandlerContext): Promise<OpenSession> {
    const opened = await streams.open(
      callerOf(ctx),
      protocolOf(ctx.requestHeader.get("content-type")),
    );
    // A generator parked at `yield` is never resumed once the client has
    // gone, so its `finally` may not run: release on abort as well.
    const release = () => {
      ctx.signal.removeEventListener("abort", release);
      opened.release();
    };
    ctx.signal.addEventListener("abort", release);
    return { session: opened.session, release };
  }

  function combinedSignal(ctx: HandlerContext): AbortSignal {
    return AbortSignal.any([ctx.signal, deps.shutdownSignal]);
  }

  return {
    async *subscribe(req, ctx) {
      await deps.limits.check("subscribes", callerOf(ctx).userId);
      const { session, release } = await openSession(ctx);
      try {
        await streams.start(session, callerOf(ctx).userId, req);
        for await (const item of session.frames(combinedSignal(ctx))) {
          if (item instanceof Frame) yield item.message;
        }
      } finally {
        release();
      }
    },

    async setTyping(req, ctx) {
      const caller = callerOf(ctx);
      const m = await membershipOf(prisma, req.roomId, caller.userId);
      if (m?.state !== "JOINED") throw roomNotFound();
      await deps.limits.check("typing", caller.userId);
      deps.typing.set(req.roomId, caller.userId, req.typing);
      return create(SetTypingResponseSchema);
    },

    async *chat(requests, ctx) {
      const { session, release } = await openSession(ctx);
      const caller = callerOf(ctx);
      // Commands are read in their own task so that a slow command never
      // stops feed events from flowing, and vice versa.
      const protocol = protocolOf(ctx.requestHeader.get("content-type"));
      const reader = (async () => {
        for await (const req of requests) {
          // Each command is logged like a call of its own, and masked alike:
          // internals never leak, transient faults come back Unavailable.
          const started = performance.now();
          let failure: unknown;
          const response = await runCommand(req, ctx, session, caller.userId).catch(
            (err: unknown) => {
              failure = deps.mask(err, chatProcedure);
              return commandError(req.requestId, failure);
            },
          );
          logRpc(deps.logger, {
            procedure: chatProcedure,
            command: req.command.case ?? "none",
            protocol,
            kind: "chat_command",
            started,
            userId: caller.userId,
            err: failure,
          });
          session.push(response);
        }
        // The client closed its side: a stream that never subscribed has
        // nothing more to say; a subscribed one stays open as a feed.
        if (!session.subscribed) session.finish();
      })();
      reader.catch((err: unknown) => session.fail(err));
      try {
        for await (const item of session.frames(combinedSignal(ctx))) {
          yield item instanceof Frame
            ? create(ChatResponseSchema, {
                response: { case: "event", value: item.message.event ?? {} },
              })
            : item;
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
    if (c.case !== "ping") deps.checkAvailable();
    const ack = (
      result: Extract<NonNullable<ChatResponse["response"]>, { case: "ack" }>["value"]["result"],
    ) =>
      create(ChatResponseSchema, {
        response: { case: "ack", value: { requestId: req.requestId, result } },
      });
    switch (c.case) {
      case "subscribe":
        validateMessage(SubscribeRequestSchema, c.value);
        await deps.limits.check("subscribes", userId);
        // A bad re-subscribe fails before the current subscription changes.
        await deps.streams.start(session, userId, c.value, () => {
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
        await deps.limits.check("typing", userId);
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
      value: {
        requestId,
        code: codeToString(ce.code),
        message: ce.rawMessage,
        details: ce.details.map((d) =>
          "desc" in d
            ? anyPack(d.desc, create(d.desc, d.value))
            : create(AnySchema, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value }),
        ),
      },
    },
  });
}

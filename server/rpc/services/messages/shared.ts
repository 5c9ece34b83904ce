/** What the MessageService parts share: text checks, the message-change helper, dependencies. */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { actingMember } from "../../../domain/access.js";
import type { RateLimits } from "../../../domain/limits/rate-limits.js";
import { type MessageRow, messageSelect } from "../../../domain/message-view.js";
import type { RoomChange } from "../../../domain/room-change.js";
import type { RoomWriter } from "../../../domain/room-writer.js";
import { textProblem } from "../../../domain/visible-text.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { FeedHub } from "../../../realtime/hub/feed-hub.js";
import type { PrismaClient } from "../../../store/prisma.js";
import { callerOf } from "../../context.js";

/** Longest text, in characters (code points), after trimming. */
export const maxTextChars = 4000;
export const defaultPageSize = 50;
export const maxPageSize = 200;

/** Unpaired UTF-16 surrogates: not representable in UTF-8. */
export const loneSurrogate =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text that can be stored and sent as UTF-8: no NUL, no lone surrogate. */
export function badCharacters(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain NUL characters";
  if (loneSurrogate.test(s)) return "must be valid UTF-8 (unpaired surrogate)";
  return undefined;
}

/** Trims and checks message text; InvalidArgument naming `field`. */
export function checkText(text: string, field = "text"): string {
  const trimmed = text.trim();
  if (trimmed === "") throw invalidArgument([{ field, description: "must not be blank" }]);
  const bad = badCharacters(trimmed);
  if (bad) throw invalidArgument([{ field, description: bad }]);
  const blank = textProblem(trimmed, field);
  if (blank) throw invalidArgument([blank]);
  // Code points, as protovalidate counts; .length is an upper bound.
  if (trimmed.length > maxTextChars && [...trimmed].length > maxTextChars) {
    throw invalidArgument([{ field, description: `must be at most ${maxTextChars} characters` }]);
  }
  return trimmed;
}

export function checkEmoji(emoji: string): string {
  const bad = badCharacters(emoji);
  if (bad) throw invalidArgument([{ field: "emoji", description: bad }]);
  if (/\s/.test(emoji)) {
    throw invalidArgument([{ field: "emoji", description: "must not contain whitespace" }]);
  }
  return emoji;
}

export function messageNotFound(): ConnectError {
  return new ConnectError("message not found", Code.NotFound);
}

/** What MessageService needs. */
export interface MessageServiceDeps {
  prisma: PrismaClient;
  /** Every room change goes through it (dense sequence, events). */
  writer: RoomWriter;
  /** Tells the user's other feeds that a read marker moved. */
  feed: FeedHub;
  /** Sends and reactions per user (domain/limits/). */
  limits: RateLimits;
}

/** The caller's user id. */
export const me = (ctx: HandlerContext) => callerOf(ctx).userId;

/** Helpers of the message-changing methods, bound to the service's dependencies. */
export function messageChanges({ prisma, writer }: MessageServiceDeps) {
  /** The room of a message, before taking the room's lock. */
  async function roomOfMessage(messageId: bigint): Promise<bigint> {
    const row = await prisma.message.findUnique({
      where: { id: messageId },
      select: { roomId: true },
    });
    if (!row) throw messageNotFound();
    return row.roomId;
  }

  /**
   * Runs a change of one message: room locked, caller a current member
   * (NotFound when the room is not visible to them), message row re-read
   * under the lock.
   */
  async function changeMessage<T>(
    messageId: bigint,
    userId: bigint,
    fn: (c: RoomChange, row: MessageRow, role: "MEMBER" | "ADMIN" | "OWNER") => Promise<T>,
  ): Promise<T> {
    const roomId = await roomOfMessage(messageId);
    return writer.change(roomId, async (c) => {
      const membership = await actingMember(c, userId, { allowArchived: true }).catch(
        (err: unknown) => {
          throw ConnectError.from(err).code === Code.NotFound ? messageNotFound() : err;
        },
      );
      const row = await c.tx.message.findUnique({
        where: { id: messageId },
        select: messageSelect,
      });
      if (!row || row.roomId !== roomId) throw messageNotFound();
      return fn(c, row, membership.role);
    });
  }

  return { roomOfMessage, changeMessage };
}

/**
 * chat.v1.MessageService: sending, editing, deleting and reacting to
 * messages, reading history and moving read markers.
 *
 * Every change runs in `writer.change` (room row locked, dense sequence,
 * event stored and published after COMMIT); new messages in `writer.send`,
 * which writes concurrent sends, of one room or several, in one such
 * transaction (group commit).
 * Decisions the contract leaves open:
 * - SendMessage/SendCustomEvent idempotency key is (room, sender,
 *   client_msg_id) across both kinds: a retry returns the original message
 *   in its current state (edited, deleted) with `duplicate`, whatever the
 *   retried body says. Membership is checked before the key is looked up,
 *   the archive state after (a retry of a message sent before archiving
 *   still returns it).
 * - EditMessage with the text the message already has changes nothing:
 *   current state, `seq` 0, no event.
 * - DeleteMessage makes a tombstone at the same seq: text and payload are
 *   cleared, mentions and reactions deleted; the reply reference is kept in
 *   the row but not shown. Deleting a tombstone again returns it, `seq` 0.
 * - AddReaction twice, or RemoveReaction of an absent reaction: `seq` 0.
 *   Reactions need a live (not deleted) message in a non-archived room.
 * - MarkRead is not a room change: no sequence, no event.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  MessageDeletedSchema,
  MessageEditedSchema,
  ReactionChangedSchema,
} from "../../gen/chat/v1/event_pb.js";
import {
  AddReactionResponseSchema,
  CustomPayloadSchema,
  DeleteMessageResponseSchema,
  EditMessageResponseSchema,
  GetMessageResponseSchema,
  type ListMessagesRequest,
  ListMessagesResponseSchema,
  MarkReadResponseSchema,
  type MessageService,
  RemoveReactionResponseSchema,
  SendCustomEventResponseSchema,
  SendMessageResponseSchema,
} from "../../gen/chat/v1/message_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { callerOf } from "../context.js";
import { invalidArgument } from "../errors.js";
import { readableRoom, requireMember, requireNotArchived } from "../rooms/access.js";
import { resolveMentions } from "../rooms/mentions.js";
import {
  emojiToBytes,
  encodeCustomPayload,
  loadReactions,
  type MessageRow,
  messageSelect,
  viewMessages,
} from "../rooms/message-view.js";
import type { RoomChange } from "../rooms/room-writer.js";
import { unreadCounts } from "../rooms/unread.js";
import type { RouteDeps } from "../routes.js";

/** Longest text, in characters (code points), after trimming. */
export const maxTextChars = 4000;
const defaultPageSize = 50;
const maxPageSize = 200;

/** Unpaired UTF-16 surrogates: not representable in UTF-8. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text that can be stored and sent as UTF-8: no NUL, no lone surrogate. */
function badCharacters(s: string): string | undefined {
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
  // Code points, as protovalidate counts; .length is an upper bound.
  if (trimmed.length > maxTextChars && [...trimmed].length > maxTextChars) {
    throw invalidArgument([{ field, description: `must be at most ${maxTextChars} characters` }]);
  }
  return trimmed;
}

function checkEmoji(emoji: string): string {
  const bad = badCharacters(emoji);
  if (bad) throw invalidArgument([{ field: "emoji", description: bad }]);
  if (/\s/.test(emoji)) {
    throw invalidArgument([{ field: "emoji", description: "must not contain whitespace" }]);
  }
  return emoji;
}

function messageNotFound(): ConnectError {
  return new ConnectError("message not found", Code.NotFound);
}

/** Creates the MessageService implementation. */
export function createMessageService(deps: RouteDeps): ServiceImpl<typeof MessageService> {
  const { prisma, writer } = deps;
  const me = (ctx: HandlerContext) => callerOf(ctx).userId;

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
      const membership = await requireMember(c.tx, c.room, userId).catch((err: unknown) => {
        throw ConnectError.from(err).code === Code.NotFound ? messageNotFound() : err;
      });
      const row = await c.tx.message.findUnique({
        where: { id: messageId },
        select: messageSelect,
      });
      if (!row || row.roomId !== roomId) throw messageNotFound();
      return fn(c, row, membership.role);
    });
  }

  return {
    async sendMessage(req, ctx) {
      const text = checkText(req.text);
      const res = await writer.send({
        roomId: req.roomId,
        senderId: me(ctx),
        clientMsgId: req.clientMsgId,
        kind: "TEXT",
        text,
        payload: null,
        replyToId: req.replyToId,
        minRole: "MEMBER",
      });
      return create(SendMessageResponseSchema, res);
    },

    async sendCustomEvent(req, ctx) {
      const userId = me(ctx);
      const body = req.body;
      if (body.case === undefined) {
        throw invalidArgument([{ field: "body", description: "set json or data" }]);
      }
      if (body.case === "json") {
        const bad = badCharacters(body.value);
        let ok = bad === undefined;
        if (ok) {
          try {
            JSON.parse(body.value);
          } catch {
            ok = false;
          }
        }
        if (!ok) {
          throw invalidArgument([{ field: "json", description: bad ?? "must be valid JSON text" }]);
        }
      }
      const payload = create(CustomPayloadSchema, { type: req.type, body });
      const res = await writer.send({
        roomId: req.roomId,
        senderId: userId,
        clientMsgId: req.clientMsgId,
        kind: "CUSTOM",
        text: "",
        payload: encodeCustomPayload(payload),
        replyToId: 0n,
        minRole: "ADMIN",
      });
      return create(SendCustomEventResponseSchema, res);
    },

    async editMessage(req, ctx) {
      const userId = me(ctx);
      const text = checkText(req.text);
      return changeMessage(req.messageId, userId, async (c, row) => {
        if (row.senderId !== userId) {
          throw new ConnectError("only the author can edit a message", Code.PermissionDenied);
        }
        requireNotArchived(c.room);
        if (row.kind !== "TEXT") {
          throw new ConnectError("only text messages can be edited", Code.FailedPrecondition);
        }
        if (row.deletedAt) {
          throw new ConnectError("the message was deleted", Code.FailedPrecondition);
        }
        if (row.text === text) {
          const [message] = await viewMessages(c.tx, [row], userId);
          return create(EditMessageResponseSchema, { message, seq: 0n });
        }
        const mentionIds = await resolveMentions(c.tx, row.roomId, text);
        const updated = await c.tx.message.update({
          where: { id: row.id },
          data: { text, editedAt: c.now },
          select: messageSelect,
        });
        await c.tx.mention.deleteMany({ where: { messageId: row.id } });
        if (mentionIds.length > 0) {
          await c.tx.mention.createMany({
            data: mentionIds.map((id) => ({
              messageId: row.id,
              userId: id,
              roomId: row.roomId,
              seq: row.seq,
            })),
          });
        }
        const seq = c.nextSeq();
        c.emit(seq, userId, {
          case: "messageEdited",
          value: create(MessageEditedSchema, {
            messageId: row.id,
            text,
            editTime: timestampFromDate(c.now),
            mentionIds,
          }),
        });
        const [message] = await viewMessages(c.tx, [updated], userId);
        return create(EditMessageResponseSchema, { message, seq });
      });
    },

    async deleteMessage(req, ctx) {
      const userId = me(ctx);
      return changeMessage(req.messageId, userId, async (c, row, role) => {
        if (row.kind === "SYSTEM") {
          throw new ConnectError("system messages cannot be deleted", Code.FailedPrecondition);
        }
        if (row.senderId !== userId && role === "MEMBER") {
          throw new ConnectError(
            "only the author, owners and admins can delete a message",
            Code.PermissionDenied,
          );
        }
        requireNotArchived(c.room);
        if (row.deletedAt) {
          const [message] = await viewMessages(c.tx, [row], userId);
          return create(DeleteMessageResponseSchema, { message, seq: 0n });
        }
        const updated = await c.tx.message.update({
          where: { id: row.id },
          data: { deletedAt: c.now, deletedById: userId, text: "", payload: null },
          select: messageSelect,
        });
        await c.tx.mention.deleteMany({ where: { messageId: row.id } });
        await c.tx.reaction.deleteMany({ where: { messageId: row.id } });
        const seq = c.nextSeq();
        c.emit(seq, userId, {
          case: "messageDeleted",
          value: create(MessageDeletedSchema, { messageId: row.id, deletedBy: userId }),
        });
        const [message] = await viewMessages(c.tx, [updated], userId);
        return create(DeleteMessageResponseSchema, { message, seq });
      });
    },

    async addReaction(req, ctx) {
      const userId = me(ctx);
      const emoji = checkEmoji(req.emoji);
      const bytes = emojiToBytes(emoji);
      return changeMessage(req.messageId, userId, async (c, row) => {
        requireNotArchived(c.room);
        if (row.deletedAt) {
          throw new ConnectError("the message was deleted", Code.FailedPrecondition);
        }
        // Once per user, emoji and message: the primary key decides.
        const added = await c.tx.$executeRaw`
          INSERT IGNORE INTO reactions (message_id, user_id, emoji, room_id, created_at)
          VALUES (${row.id}, ${userId}, ${bytes}, ${row.roomId}, ${c.now})`;
        let seq = 0n;
        if (added > 0) {
          const count = await c.tx.reaction.count({ where: { messageId: row.id, emoji: bytes } });
          seq = c.nextSeq();
          c.emit(seq, userId, {
            case: "reactionAdded",
            value: create(ReactionChangedSchema, { messageId: row.id, emoji, userId, count }),
          });
        }
        const reactions = (await loadReactions(c.tx, [row.id], userId)).get(row.id) ?? [];
        return create(AddReactionResponseSchema, { reactions, seq });
      });
    },

    async removeReaction(req, ctx) {
      const userId = me(ctx);
      const bytes = emojiToBytes(req.emoji);
      return changeMessage(req.messageId, userId, async (c, row) => {
        requireNotArchived(c.room);
        if (row.deletedAt) {
          throw new ConnectError("the message was deleted", Code.FailedPrecondition);
        }
        const removed = await c.tx.$executeRaw`
          DELETE FROM reactions WHERE message_id = ${row.id} AND user_id = ${userId} AND emoji = ${bytes}`;
        let seq = 0n;
        if (removed > 0) {
          const count = await c.tx.reaction.count({ where: { messageId: row.id, emoji: bytes } });
          seq = c.nextSeq();
          c.emit(seq, userId, {
            case: "reactionRemoved",
            value: create(ReactionChangedSchema, {
              messageId: row.id,
              emoji: req.emoji,
              userId,
              count,
            }),
          });
        }
        const reactions = (await loadReactions(c.tx, [row.id], userId)).get(row.id) ?? [];
        return create(RemoveReactionResponseSchema, { reactions, seq });
      });
    },

    async listMessages(req, ctx) {
      const userId = me(ctx);
      const limit = Math.min(req.limit || defaultPageSize, maxPageSize);
      const { room } = await readableRoom(prisma, req.roomId, userId);
      const page = await historyPage(prisma, room.id, room.lastSeq, req.anchor, limit);
      return create(ListMessagesResponseSchema, {
        messages: await viewMessages(prisma, page.rows, userId),
        hasMoreBefore: page.hasMoreBefore,
        hasMoreAfter: page.hasMoreAfter,
        lastSeq: room.lastSeq,
      });
    },

    async getMessage(req, ctx) {
      const userId = me(ctx);
      const row = await prisma.message.findUnique({
        where: { id: req.messageId },
        select: messageSelect,
      });
      if (!row) throw messageNotFound();
      await readableRoom(prisma, row.roomId, userId).catch((err: unknown) => {
        throw ConnectError.from(err).code === Code.NotFound ? messageNotFound() : err;
      });
      const [message] = await viewMessages(prisma, [row], userId);
      return create(GetMessageResponseSchema, { message });
    },

    async markRead(req, ctx) {
      const userId = me(ctx);
      const { room, membership } = await readableRoom(prisma, req.roomId, userId);
      if (!membership) {
        throw new ConnectError(
          "join the room first: only members can do this",
          Code.PermissionDenied,
        );
      }
      if (req.seq > room.lastSeq) {
        throw invalidArgument([
          {
            field: "seq",
            description: `must not be beyond the room's last sequence ${room.lastSeq}`,
          },
        ]);
      }
      // Forward only: a stale or reordered call never moves the marker back.
      const moved = await prisma.membership.updateMany({
        where: { roomId: room.id, userId, state: "JOINED", lastReadSeq: { lt: req.seq } },
        data: { lastReadSeq: req.seq },
      });
      // The user's other devices clear their badges from their feeds.
      if (moved.count > 0) deps.feed.readMarkerMoved(userId, room.id, req.seq);
      const marker = await prisma.membership.findUnique({
        where: { roomId_userId: { roomId: room.id, userId } },
        select: { lastReadSeq: true },
      });
      const lastReadSeq = marker?.lastReadSeq ?? req.seq;
      const counts = (await unreadCounts(prisma, userId, [{ roomId: room.id, lastReadSeq }])).get(
        room.id,
      );
      return create(MarkReadResponseSchema, {
        lastReadSeq,
        unreadCount: counts?.unread ?? 0,
        mentionCount: counts?.mentions ?? 0,
      });
    },
  };
}

/** A page of history rows, ascending. */
interface HistoryPage {
  rows: MessageRow[];
  hasMoreBefore: boolean;
  hasMoreAfter: boolean;
}

/**
 * Keyset pages over the unique (room_id, seq) index, bounded by the room's
 * last_seq read before (so the page and `last_seq` agree even while others
 * write): at most three index range reads.
 */
async function historyPage(
  db: PrismaClient,
  roomId: bigint,
  lastSeq: bigint,
  anchor: ListMessagesRequest["anchor"],
  limit: number,
): Promise<HistoryPage> {
  const older = (below: bigint, take: number) =>
    db.message.findMany({
      where: { roomId, seq: { lt: below, lte: lastSeq } },
      orderBy: { seq: "desc" },
      take,
      select: messageSelect,
    });
  const newer = (from: bigint, take: number) =>
    db.message.findMany({
      where: { roomId, seq: { gte: from, lte: lastSeq } },
      orderBy: { seq: "asc" },
      take,
      select: messageSelect,
    });
  const exists = async (where: { lte?: bigint; gte?: bigint }) =>
    (await db.message.findFirst({
      where: { roomId, AND: [{ seq: where }, { seq: { lte: lastSeq } }] },
      select: { id: true },
    })) !== null;

  switch (anchor.case) {
    case undefined: {
      const rows = await older(lastSeq + 1n, limit + 1);
      return {
        rows: rows.slice(0, limit).reverse(),
        hasMoreBefore: rows.length > limit,
        hasMoreAfter: false,
      };
    }
    case "beforeSeq": {
      const rows = await older(anchor.value, limit + 1);
      return {
        rows: rows.slice(0, limit).reverse(),
        hasMoreBefore: rows.length > limit,
        // The page holds the nearest ones below the anchor: anything newer
        // is at or after it.
        hasMoreAfter: await exists({ gte: anchor.value }),
      };
    }
    case "afterSeq": {
      const rows = await newer(anchor.value + 1n, limit + 1);
      return {
        rows: rows.slice(0, limit),
        hasMoreBefore: await exists({ lte: anchor.value }),
        hasMoreAfter: rows.length > limit,
      };
    }
    case "aroundSeq": {
      const half = Math.floor(limit / 2);
      const [before, after] = await Promise.all([
        older(anchor.value, limit + 1),
        newer(anchor.value, limit + 1),
      ]);
      // About half each side (the anchor's own message counts as after);
      // a short side leaves its room to the other.
      let nAfter = Math.min(after.length, limit - Math.min(before.length, half));
      const nBefore = Math.min(before.length, limit - nAfter);
      nAfter = Math.min(after.length, limit - nBefore);
      return {
        rows: [...before.slice(0, nBefore).reverse(), ...after.slice(0, nAfter)],
        hasMoreBefore: before.length > nBefore,
        hasMoreAfter: after.length > nAfter,
      };
    }
  }
}

/** MessageService: edits, deletions and reactions, each a change of the message's room. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MessageEditedSchema, ReactionChangedSchema } from "../../../../gen/chat/v1/event_pb.js";
import {
  AddReactionResponseSchema,
  DeleteMessageResponseSchema,
  EditMessageResponseSchema,
  type MessageService,
  RemoveReactionResponseSchema,
} from "../../../../gen/chat/v1/message_pb.js";
import { requireNotArchived } from "../../../domain/access.js";
import { quotaExceeded } from "../../../domain/limits/rate-limits.js";
import { resolveMentions } from "../../../domain/mentions.js";
import {
  emojiToBytes,
  loadReactions,
  messageSelect,
  viewMessages,
} from "../../../domain/message-view.js";
import { deleteMessage } from "../../../domain/moderation/removals.js";
import { indexTokens } from "../../../domain/search/search-tokens.js";
import type { MessageServiceDeps } from "./shared.js";
import { checkEmoji, checkText, me, messageChanges } from "./shared.js";

/** editMessage, deleteMessage, addReaction, removeReaction. */
export function changeMethods(
  deps: MessageServiceDeps,
): Pick<
  ServiceImpl<typeof MessageService>,
  "editMessage" | "deleteMessage" | "addReaction" | "removeReaction"
> {
  const { changeMessage } = messageChanges(deps);
  return {
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
          // Searchable by its new text from this commit on.
          data: { text, editedAt: c.now, searchTokens: indexTokens(text, row.roomId) },
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
        const done = await deleteMessage(c, userId, row, role);
        const [message] = await viewMessages(c.tx, [done.row], userId);
        return create(DeleteMessageResponseSchema, { message, seq: done.seq });
      });
    },
    async addReaction(req, ctx) {
      const userId = me(ctx);
      const emoji = checkEmoji(req.emoji);
      const bytes = emojiToBytes(emoji);
      await deps.limits.check("reactions", userId);
      return changeMessage(req.messageId, userId, async (c, row) => {
        requireNotArchived(c.room);
        if (row.deletedAt) {
          throw new ConnectError("the message was deleted", Code.FailedPrecondition);
        }
        // A cap on distinct emoji per user and message (under the room lock,
        // so concurrent adds cannot pass it together); re-adding one is fine.
        const cap = deps.limits.config.reactionsPerMessage;
        const mine = deps.limits.enabled
          ? await c.tx.reaction.count({ where: { messageId: row.id, userId } })
          : 0;
        if (mine >= cap) {
          const has = await c.tx.reaction.findUnique({
            where: { messageId_userId_emoji: { messageId: row.id, userId, emoji: bytes } },
            select: { userId: true },
          });
          if (!has) {
            throw quotaExceeded(
              `at most ${cap} different reactions per message: remove one of yours first`,
            );
          }
        }
        // Once per user, emoji and message: the primary key decides.
        const { count: added } = await c.tx.reaction.createMany({
          data: [{ messageId: row.id, userId, emoji: bytes, roomId: row.roomId, createdAt: c.now }],
          skipDuplicates: true,
        });
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
      await deps.limits.check("reactions", userId);
      return changeMessage(req.messageId, userId, async (c, row) => {
        requireNotArchived(c.room);
        if (row.deletedAt) {
          throw new ConnectError("the message was deleted", Code.FailedPrecondition);
        }
        const { count: removed } = await c.tx.reaction.deleteMany({
          where: { messageId: row.id, userId, emoji: bytes },
        });
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
  };
}

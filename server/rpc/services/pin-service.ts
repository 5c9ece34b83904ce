/**
 * chat.v1.PinService: pin, unpin, the pinned list and who may pin.
 *
 * Decisions the issue leaves open:
 * - Pinning needs a live TEXT or CUSTOM message in a room that is not
 *   archived; pinning twice or unpinning what is not pinned is `seq` 0.
 * - A deleted message's pin stays in the table (the message row keeps its
 *   id) but is left out of the list; unpinning it still works.
 * - SetPinPolicy: OWNER or ADMIN; unchanged policy is `seq` 0.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  ListPinnedMessagesResponseSchema,
  MessagePinnedSchema,
  MessageUnpinnedSchema,
  PinMessageResponseSchema,
  PinnedMessageSchema,
  PinPolicyChangedSchema,
  type PinService,
  SetPinPolicyResponseSchema,
  UnpinMessageResponseSchema,
} from "../../../gen/chat/v1/pins_pb.js";
import { actingMember, requireNotArchived, requireRole } from "../../domain/access.js";
import { viewMessages } from "../../domain/message-view.js";
import { maxPinsPerRoom, membersCanPin, pinnedMessages, requireMayPin } from "../../domain/pins.js";
import { type MessageServiceDeps, me, messageChanges } from "./messages/shared.js";

/** Creates the PinService implementation. */
export function createPinService(deps: MessageServiceDeps): ServiceImpl<typeof PinService> {
  const { prisma, writer } = deps;
  const { changeMessage } = messageChanges(deps);
  return {
    async pinMessage(req, ctx) {
      const userId = me(ctx);
      return changeMessage(req.messageId, userId, async (c, row, role) => {
        requireNotArchived(c.room);
        requireMayPin(role, await membersCanPin(c.tx, c.room.id));
        if (row.kind === "SYSTEM" || row.deletedAt) {
          throw new ConnectError(
            "only live text and custom messages can be pinned",
            Code.FailedPrecondition,
          );
        }
        const existing = await c.tx.pin.findUnique({ where: { messageId: row.id } });
        let seq = 0n;
        let pin = existing;
        if (!existing) {
          const count = await c.tx.pin.count({ where: { roomId: row.roomId } });
          if (count >= maxPinsPerRoom) {
            throw new ConnectError(
              `a room holds at most ${maxPinsPerRoom} pins: unpin one first`,
              Code.FailedPrecondition,
            );
          }
          pin = await c.tx.pin.create({
            data: { messageId: row.id, roomId: row.roomId, pinnedById: userId, pinnedAt: c.now },
          });
          seq = c.nextSeq();
          c.emit(seq, userId, {
            case: "messagePinned",
            value: create(MessagePinnedSchema, { messageId: row.id, messageSeq: row.seq }),
          });
        }
        const [message] = await viewMessages(c.tx, [row], userId);
        return create(PinMessageResponseSchema, {
          pin: create(PinnedMessageSchema, {
            message,
            pinnedBy: pin?.pinnedById ?? userId,
            pinTime: timestampFromDate(pin?.pinnedAt ?? c.now),
          }),
          seq,
        });
      });
    },
    async unpinMessage(req, ctx) {
      const userId = me(ctx);
      return changeMessage(req.messageId, userId, async (c, row, role) => {
        requireNotArchived(c.room);
        requireMayPin(role, await membersCanPin(c.tx, c.room.id));
        const { count } = await c.tx.pin.deleteMany({ where: { messageId: row.id } });
        let seq = 0n;
        if (count > 0) {
          seq = c.nextSeq();
          c.emit(seq, userId, {
            case: "messageUnpinned",
            value: create(MessageUnpinnedSchema, { messageId: row.id }),
          });
        }
        return create(UnpinMessageResponseSchema, { seq });
      });
    },
    async listPinnedMessages(req, ctx) {
      const userId = me(ctx);
      const { pins, membersCanPin: members } = await pinnedMessages(prisma, req.roomId, userId);
      const messages = await viewMessages(
        prisma,
        pins.map((p) => p.row),
        userId,
      );
      return create(ListPinnedMessagesResponseSchema, {
        pins: pins.map((p, i) =>
          create(PinnedMessageSchema, {
            message: messages[i],
            pinnedBy: p.pinnedById,
            pinTime: timestampFromDate(p.pinnedAt),
          }),
        ),
        membersCanPin: members,
      });
    },
    async setPinPolicy(req, ctx) {
      const userId = me(ctx);
      return writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, userId);
        requireRole(m, "ADMIN", "change who may pin");
        if ((await membersCanPin(c.tx, c.room.id)) === req.membersCanPin) {
          return create(SetPinPolicyResponseSchema, { seq: 0n });
        }
        await c.tx.room.update({
          where: { id: c.room.id },
          data: { membersCanPin: req.membersCanPin },
        });
        const seq = c.nextSeq();
        c.emit(seq, userId, {
          case: "pinPolicyChanged",
          value: create(PinPolicyChangedSchema, { membersCanPin: req.membersCanPin }),
        });
        return create(SetPinPolicyResponseSchema, { seq });
      });
    },
  };
}

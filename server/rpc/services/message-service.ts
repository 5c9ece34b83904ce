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
import type { ServiceImpl } from "@connectrpc/connect";
import type { MessageService } from "../../../gen/chat/v1/message_pb.js";
import { changeMethods } from "./messages/changes.js";
import { historyMethods } from "./messages/history.js";
import { readMethods } from "./messages/read.js";
import { sendMethods } from "./messages/send.js";
import type { MessageServiceDeps } from "./messages/shared.js";

export type { MessageServiceDeps } from "./messages/shared.js";

/** Creates the MessageService implementation from its parts (messages/). */
export function createMessageService(deps: MessageServiceDeps): ServiceImpl<typeof MessageService> {
  return {
    ...sendMethods(deps),
    ...changeMethods(deps),
    ...historyMethods(deps),
    ...readMethods(deps),
  };
}

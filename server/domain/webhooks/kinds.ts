/** Which events an endpoint receives: the WebhookEventKind of each room event. */
import { WebhookEventKind } from "../../../gen/chat/admin/v1/admin_pb.js";
import type { RoomEvent } from "../../../gen/chat/v1/event_pb.js";
import { MessageKind } from "../../../gen/chat/v1/message_pb.js";

/** The kind of a room event. */
export function kindOf(e: RoomEvent): WebhookEventKind {
  const c = e.change;
  switch (c.case) {
    case "messageCreated":
      return c.value.message?.kind === MessageKind.CUSTOM
        ? WebhookEventKind.CUSTOM
        : WebhookEventKind.MESSAGE_CREATED;
    case "messageEdited":
      return WebhookEventKind.MESSAGE_EDITED;
    case "messageDeleted":
      return WebhookEventKind.MESSAGE_DELETED;
    case "reactionAdded":
    case "reactionRemoved":
      return WebhookEventKind.REACTION;
    case "membersAdded":
    case "memberRemoved":
    case "memberRoleChanged":
    case "memberUnbanned":
      return WebhookEventKind.MEMBERSHIP;
    case "roomUpdated":
      return WebhookEventKind.ROOM;
    default:
      return WebhookEventKind.UNSPECIFIED;
  }
}

/** Stored form of a kind list: comma-separated numbers ("" = every kind). */
export function encodeKinds(kinds: readonly WebhookEventKind[]): string {
  return [...new Set(kinds)].sort((a, b) => a - b).join(",");
}

/** The kinds of a stored list (empty: every kind). */
export function decodeKinds(stored: string): WebhookEventKind[] {
  return stored === "" ? [] : stored.split(",").map((k) => Number(k) as WebhookEventKind);
}

/** Whether an endpoint with `kinds` receives `e`. */
export function wants(kinds: readonly WebhookEventKind[], e: RoomEvent): boolean {
  return kinds.length === 0 || kinds.includes(kindOf(e));
}

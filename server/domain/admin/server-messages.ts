/**
 * Messages the server itself posts for an operator: broadcast notices
 * (SYSTEM) and priority custom events (CUSTOM). They take the general room
 * change path (room-writer.ts: the room's lock, its next sequence, the
 * event row in the same transaction), never the users' send path, so no
 * limit meant for users (send batching, rate limits, slow mode) applies.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageCreatedSchema } from "../../../gen/chat/v1/event_pb.js";
import {
  type CustomPayload,
  type Message,
  SystemNoticeSchema,
} from "../../../gen/chat/v1/message_pb.js";
import { BroadcastNoticeSchema } from "../../../gen/chat/v1/notice_pb.js";
import { requireNotArchived } from "../access.js";
import {
  encodeCustomPayload,
  encodeSystemNotice,
  messageSelect,
  newMessageView,
} from "../message-view.js";
import type { RoomChange } from "../room-change.js";
import type { RoomWriter } from "../room-writer.js";

/** A stored server message and its sequence. */
export interface ServerMessage {
  message: Message;
  seq: bigint;
}

async function post(
  c: RoomChange,
  kind: "SYSTEM" | "CUSTOM",
  payload: Uint8Array<ArrayBuffer>,
  priority: boolean,
): Promise<ServerMessage> {
  requireNotArchived(c.room);
  const seq = c.nextSeq();
  const row = await c.tx.message.create({
    data: { roomId: c.room.id, seq, senderId: null, kind, text: "", payload, createdAt: c.now },
    select: messageSelect,
  });
  const message = newMessageView(row, []);
  const event = c.emit(seq, null, {
    case: "messageCreated",
    value: create(MessageCreatedSchema, { message }),
  });
  // Set before the writer encodes the event (after this callback returns).
  event.priority = priority;
  // Room-list previews show the newest non-system message.
  if (kind !== "SYSTEM") {
    await c.tx.room.update({ where: { id: c.room.id }, data: { lastMessageId: row.id } });
  }
  return { message, seq };
}

/** Posts an operator's notice in a room. Archived room: FailedPrecondition. */
export function postBroadcast(
  writer: RoomWriter,
  roomId: bigint,
  text: string,
): Promise<ServerMessage> {
  const notice = create(SystemNoticeSchema, {
    notice: { case: "broadcast", value: create(BroadcastNoticeSchema, { text }) },
    actorId: 0n,
  });
  return writer.change(roomId, (c) => post(c, "SYSTEM", encodeSystemNotice(notice), false));
}

/** Posts a priority custom event in a room. Archived room: FailedPrecondition. */
export function postPriorityEvent(
  writer: RoomWriter,
  roomId: bigint,
  payload: CustomPayload,
): Promise<ServerMessage> {
  return writer.change(roomId, (c) => post(c, "CUSTOM", encodeCustomPayload(payload), true));
}

/** Whether an error is the archived-room refusal (a broadcast skips such rooms). */
export function isArchivedRefusal(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.FailedPrecondition;
}

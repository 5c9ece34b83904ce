/**
 * Message rows to contract messages in their current state: edited text,
 * tombstones, decoded SYSTEM/CUSTOM payloads, reactions (per viewer),
 * mentions and reply previews. Views of many messages are built with a
 * constant number of queries, whatever the number of rows.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CustomPayload,
  CustomPayloadSchema,
  type Message,
  MessageKind,
  MessageSchema,
  type Reaction,
  ReactionSchema,
  type ReplyPreview,
  ReplyPreviewSchema,
  type SystemNotice,
  SystemNoticeSchema,
  type ThreadSummary,
} from "../../gen/chat/v1/message_pb.js";
import type { Attachment } from "../../gen/chat/v1/upload_pb.js";
import type { $Enums, PrismaClient } from "../store/prisma.js";
import { reactionTallies } from "../store/sql/counts.js";
import type { ReplyParentRow } from "../store/sql/rows.js";
import type { NewMessageRow } from "../store/sql/send.js";
import { loadAttachments } from "./files/upload-view.js";
import type { Tx } from "./room-change.js";
import { loadThreadSummaries } from "./threads/thread-view.js";

/** The message columns a view needs. */
export const messageSelect = {
  id: true,
  roomId: true,
  seq: true,
  senderId: true,
  clientMsgId: true,
  kind: true,
  text: true,
  payload: true,
  replyToId: true,
  createdAt: true,
  editedAt: true,
  deletedAt: true,
  deletedById: true,
  threadRootId: true,
} as const;

/** A message row selected with {@link messageSelect}. */
export interface MessageRow extends NewMessageRow {
  id: bigint;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  deletedById: bigint | null;
}

/** Reply previews show at most this many characters of the parent. */
export const replyPreviewChars = 200;

const kindToProto: Record<$Enums.MessageKind, MessageKind> = {
  TEXT: MessageKind.TEXT,
  SYSTEM: MessageKind.SYSTEM,
  CUSTOM: MessageKind.CUSTOM,
};

/** Encodes a SystemNotice for messages.payload. */
export function encodeSystemNotice(n: SystemNotice): Uint8Array<ArrayBuffer> {
  return toBinary(SystemNoticeSchema, n) as Uint8Array<ArrayBuffer>;
}

/** Encodes a CustomPayload for messages.payload. */
export function encodeCustomPayload(p: CustomPayload): Uint8Array<ArrayBuffer> {
  return toBinary(CustomPayloadSchema, p) as Uint8Array<ArrayBuffer>;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** An emoji as stored in reactions.emoji (UTF-8 bytes). */
export function emojiToBytes(emoji: string): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(emoji) as Uint8Array<ArrayBuffer>;
}

/** An emoji as stored in reactions.emoji, back to text. */
export function emojiFromBytes(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Cuts text to `max` characters (code points, never half a surrogate pair). */
export function cutText(text: string, max = replyPreviewChars): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join("");
}

/** The parent columns a reply preview needs. */
export type { ReplyParentRow } from "../store/sql/rows.js";

const replyParentSelect = {
  id: true,
  seq: true,
  senderId: true,
  text: true,
  deletedAt: true,
} as const;

/** The preview of a reply's parent, as it is now. */
export function toReplyPreview(parent: ReplyParentRow): ReplyPreview {
  const deleted = parent.deletedAt !== null;
  return create(ReplyPreviewSchema, {
    messageId: parent.id,
    seq: parent.seq,
    senderId: parent.senderId ?? 0n,
    text: deleted ? "" : cutText(parent.text),
    deleted,
  });
}

/**
 * The contract view of one row. `reactions` and `mentionIds` are ignored for
 * tombstones, whose content is gone (text, custom body, mentions, reactions
 * and the reply reference).
 */
function toMessage(
  row: MessageRow,
  mentionIds: bigint[],
  reactions: Reaction[],
  replyTo: ReplyPreview | undefined,
  attachments: Attachment[],
  thread?: ThreadSummary,
): Message {
  const deleted = row.deletedAt !== null;
  let system: SystemNotice | undefined;
  let custom: CustomPayload | undefined;
  if (row.kind === "SYSTEM" && row.payload) {
    system = fromBinary(SystemNoticeSchema, row.payload);
  } else if (row.kind === "CUSTOM" && row.payload && !deleted) {
    custom = fromBinary(CustomPayloadSchema, row.payload);
  }
  return create(MessageSchema, {
    id: row.id,
    roomId: row.roomId,
    seq: row.seq,
    senderId: row.senderId ?? 0n,
    clientMsgId: row.clientMsgId ?? "",
    kind: kindToProto[row.kind],
    text: deleted ? "" : row.text,
    system,
    custom,
    replyTo: deleted ? undefined : replyTo,
    mentionIds: deleted ? [] : mentionIds,
    reactions: deleted ? [] : reactions,
    createTime: timestampFromDate(row.createdAt),
    editTime: row.editedAt ? timestampFromDate(row.editedAt) : undefined,
    deleted,
    deleteTime: row.deletedAt ? timestampFromDate(row.deletedAt) : undefined,
    deletedBy: row.deletedById ?? 0n,
    attachments: deleted ? [] : attachments,
    threadRootId: row.threadRootId ?? 0n,
    thread,
  });
}

/** The view of a message just created: no reactions yet. */
export function newMessageView(
  row: MessageRow,
  mentionIds: bigint[],
  replyTo?: ReplyPreview,
  attachments: Attachment[] = [],
): Message {
  return toMessage(row, mentionIds, [], replyTo, attachments);
}

/**
 * Reactions of messages, aggregated per emoji in first-reaction order, with
 * `me` set when `viewerId` reacted (0n: never). One query.
 */
export async function loadReactions(
  db: PrismaClient | Tx,
  messageIds: bigint[],
  viewerId: bigint,
): Promise<Map<bigint, Reaction[]>> {
  const out = new Map<bigint, Reaction[]>();
  if (messageIds.length === 0) return out;
  for (const r of await reactionTallies(db, messageIds, viewerId)) {
    let list = out.get(r.messageId);
    if (!list) {
      list = [];
      out.set(r.messageId, list);
    }
    list.push(
      create(ReactionSchema, {
        emoji: emojiFromBytes(r.emoji),
        count: r.count,
        me: viewerId !== 0n && r.mine,
      }),
    );
  }
  return out;
}

/** Mentioned user ids per message, ascending. One query. */
async function loadMentions(
  db: PrismaClient | Tx,
  messageIds: bigint[],
): Promise<Map<bigint, bigint[]>> {
  const out = new Map<bigint, bigint[]>();
  if (messageIds.length === 0) return out;
  const rows = await db.mention.findMany({
    where: { messageId: { in: messageIds } },
    select: { messageId: true, userId: true },
    orderBy: [{ messageId: "asc" }, { userId: "asc" }],
  });
  for (const r of rows) {
    const list = out.get(r.messageId);
    if (list) list.push(r.userId);
    else out.set(r.messageId, [r.userId]);
  }
  return out;
}

/** Reply parents by id. One query. */
async function loadReplyParents(
  db: PrismaClient | Tx,
  ids: bigint[],
): Promise<Map<bigint, ReplyParentRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.message.findMany({
    where: { id: { in: ids } },
    select: replyParentSelect,
  });
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Current-state views of `rows` (same order) for `viewerId` (0n: nobody, so
 * `me` is never set). At most six queries, whatever the number of rows.
 */
export async function viewMessages(
  db: PrismaClient | Tx,
  rows: MessageRow[],
  viewerId: bigint,
): Promise<Message[]> {
  if (rows.length === 0) return [];
  const live = rows.filter((r) => r.deletedAt === null);
  const liveIds = live.map((r) => r.id);
  const replyIds = [...new Set(live.flatMap((r) => (r.replyToId === null ? [] : [r.replyToId])))];
  // Sequential on purpose: `db` may be a transaction, which runs one
  // statement at a time on its connection anyway.
  const mentions = await loadMentions(db, liveIds);
  const reactions = await loadReactions(db, liveIds, viewerId);
  const parents = await loadReplyParents(db, replyIds);
  const attachments = await loadAttachments(db, liveIds);
  // A deleted root keeps its thread: the replies are still there.
  const threads = await loadThreadSummaries(
    db,
    rows.filter((r) => r.threadRootId === null && r.kind !== "SYSTEM"),
  );
  return rows.map((r) => {
    const parent = r.replyToId === null ? undefined : parents.get(r.replyToId);
    return toMessage(
      r,
      mentions.get(r.id) ?? [],
      reactions.get(r.id) ?? [],
      parent ? toReplyPreview(parent) : undefined,
      attachments.get(r.id) ?? [],
      threads.get(r.id),
    );
  });
}

/** Loads one message's row and selects the parent for a preview. */
export async function loadReplyParent(
  db: PrismaClient | Tx,
  id: bigint,
): Promise<(ReplyParentRow & { roomId: bigint }) | null> {
  return db.message.findUnique({ where: { id }, select: { ...replyParentSelect, roomId: true } });
}

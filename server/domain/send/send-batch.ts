/**
 * One group commit: the SQL of a batch of SendMessage/SendCustomEvent calls,
 * for one room or several, in one transaction (see send-batcher.ts).
 *
 * Three round trips: the rooms locked and every fact the calls need read
 * (send-reads.ts); the messages inserted; their events, mentions and the
 * rooms' counters written, with COMMIT. Each call is judged on its own in
 * arrival order, exactly as RoomWriter.change would judge it alone: one
 * that fails gets its error and writes nothing, the others of its room take
 * consecutive sequence numbers.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  MessageCreatedSchema,
  type RoomEvent,
  RoomEventSchema,
} from "../../../gen/chat/v1/event_pb.js";
import type { Message } from "../../../gen/chat/v1/message_pb.js";
import { invalidArgument } from "../../platform/errors.js";
import {
  advanceRooms,
  idsBySeq,
  insertEvents,
  insertMentions,
  insertMessages,
  messageIdsBySeq,
  type NewEventRow,
  touchLastSent,
} from "../../store/sql/send.js";
import { followAsAuthor, followAsReplier } from "../../store/sql/threads.js";
import { attachUploads, type UploadRow } from "../../store/sql/uploads.js";
import { type SqlTx, type Stmt, sqlDateTime } from "../../store/tx.js";
import { notJoined, requireNotArchived, requireRole, roomNotFound, visible } from "../access.js";
import { toAttachment } from "../files/upload-view.js";
import { slowModeWait } from "../limits/slow-mode.js";
import { mentionCandidates } from "../mentions.js";
import { type MessageRow, newMessageView, toReplyPreview } from "../message-view.js";
import { requireNotBlocked } from "../moderation/blocks.js";
import { requireNotMuted } from "../moderation/mute.js";
import { indexTokens } from "../search/search-tokens.js";
import { lockAndRead, type ReplyParent, sendKey } from "./send-reads.js";

/** One SendMessage or SendCustomEvent, its input already checked. */
export interface SendRequest {
  roomId: bigint;
  senderId: bigint;
  clientMsgId: string;
  kind: "TEXT" | "CUSTOM";
  /** Trimmed text (TEXT); empty for CUSTOM. */
  text: string;
  /** Encoded chat.v1.CustomPayload (CUSTOM); null for TEXT. */
  payload: Uint8Array | null;
  /** Message replied to; 0n for none. */
  replyToId: bigint;
  /** Lowest role that may send it (custom events: ADMIN). */
  minRole: "MEMBER" | "ADMIN";
  /** The thread replied in (TEXT only; 0n or absent for none). */
  threadRootId?: bigint;
  /** Uploads to attach, in order (TEXT only; absent or empty for none). */
  attachmentIds?: readonly bigint[];
}

/** What became of one request of a batch. */
export type SendOutcome =
  | { kind: "created"; message: Message }
  /** The same key as the earlier request at `index` of this batch. */
  | { kind: "same"; index: number }
  /** The key was used before this batch: the caller views the stored message. */
  | { kind: "stored"; messageId: bigint }
  | { kind: "failed"; error: ConnectError }
  /** The room's lock was held elsewhere: nothing was judged; try again later. */
  | { kind: "deferred" };

/** The events one room got from a batch, in sequence order. */
export interface RoomEvents {
  roomId: bigint;
  events: RoomEvent[];
  /** Each event's encoding, stored in room_events and handed to the feeds. */
  bytes: Uint8Array[];
}

/** A batch's outcomes (same order as the requests) and its events per room. */
export interface BatchResult {
  outcomes: SendOutcome[];
  rooms: RoomEvents[];
}

/** A request accepted into the batch: its row, known but for the id. */
interface Accepted {
  index: number;
  row: MessageRow;
  mentionIds: bigint[];
  parent: ReplyParent | undefined;
  uploads: UploadRow[];
  /** The thread's root, for a thread reply. */
  root: ReplyParent | undefined;
}

/** One room's calls, and what it accepted of them. */
interface RoomPart {
  roomId: bigint;
  /** Indexes of its requests, in arrival order. */
  indexes: number[];
  lastSeq: bigint;
  accepted: Accepted[];
}

/**
 * Runs one batch in `tx`. Throws only for database failures; a request's
 * own failure is its outcome.
 */
export async function writeSendBatch(
  tx: SqlTx,
  reqs: readonly SendRequest[],
  now: () => Date,
): Promise<BatchResult> {
  const parts = new Map<bigint, RoomPart>();
  reqs.forEach((r, index) => {
    const part = parts.get(r.roomId);
    if (part) part.indexes.push(index);
    else parts.set(r.roomId, { roomId: r.roomId, indexes: [index], lastSeq: 0n, accepted: [] });
  });
  const candidates = reqs.map((r) => (r.kind === "TEXT" ? mentionCandidates(r.text) : []));
  const facts = await lockAndRead(
    tx,
    reqs.map((r, i) => ({ ...r, mentions: candidates[i] ?? [] })),
  );

  const createdAt = now();
  // Senders held to a room's slow mode whose clock this batch moves.
  const slowed: { roomId: bigint; userId: bigint }[] = [];
  // Uploads attached by earlier calls of this batch.
  const taken = new Set<bigint>();
  // Accepted requests get their outcome once their message id is known.
  const outcomes: (SendOutcome | undefined)[] = reqs.map(() => undefined);
  for (const part of parts.values()) {
    if (facts.busy(part.roomId)) {
      for (const i of part.indexes) outcomes[i] = { kind: "deferred" };
      continue;
    }
    const room = facts.room(part.roomId);
    if (!room) {
      for (const i of part.indexes) outcomes[i] = { kind: "failed", error: roomNotFound() };
      continue;
    }
    part.lastSeq = room.lastSeq;
    const claimed = new Map<string, number>();
    const sentNow = new Set<bigint>();
    for (const index of part.indexes) {
      const req = reqs[index] as SendRequest;
      try {
        // Same order of checks as a lone send: membership, key, archive, reply.
        const m = facts.membership(part.roomId, req.senderId);
        if (!visible(room, m)) throw roomNotFound();
        if (m?.state !== "JOINED") throw notJoined();
        if (req.minRole !== "MEMBER") requireRole(m, req.minRole, "send custom events");
        const storedId = facts.storedId(part.roomId, req.senderId, req.clientMsgId);
        if (storedId !== undefined) {
          outcomes[index] = { kind: "stored", messageId: storedId };
          continue;
        }
        const key = sendKey(req.senderId, req.clientMsgId);
        const earlier = claimed.get(key);
        if (earlier !== undefined) {
          outcomes[index] = { kind: "same", index: earlier };
          continue;
        }
        requireNotArchived(room);
        const parent = req.replyToId === 0n ? undefined : facts.replyParent(req.replyToId);
        if (req.replyToId !== 0n && parent?.roomId !== part.roomId) {
          throw invalidArgument([
            { field: "reply_to_id", description: "must be a message of the same room" },
          ]);
        }
        const root = req.threadRootId ? facts.replyParent(req.threadRootId) : undefined;
        if (req.threadRootId && (root?.roomId !== part.roomId || root.threadRootId !== null)) {
          throw invalidArgument([
            {
              field: "thread_root_id",
              description: "must be a message of the same room that is not itself a thread reply",
            },
          ]);
        }
        const uploads = (req.attachmentIds ?? []).map((id, i) =>
          attachable(facts.upload(id), req.senderId, taken, `attachment_ids[${i}]`),
        );
        // Mute and slow mode last: a retry of a stored message (above) is never held back.
        requireNotMuted(facts.mutedUntil(part.roomId, req.senderId), createdAt);
        requireNotBlocked(facts.blockedBy(part.roomId, req.senderId), req.senderId);
        const held = room.slowModeSeconds > 0 && m.role === "MEMBER";
        if (held) {
          const last = sentNow.has(req.senderId)
            ? createdAt
            : facts.lastSent(part.roomId, req.senderId);
          slowModeWait(room.slowModeSeconds, last, createdAt);
          sentNow.add(req.senderId);
          slowed.push({ roomId: part.roomId, userId: req.senderId });
        }
        claimed.set(key, index);
        for (const u of uploads) taken.add(u.id);
        part.accepted.push({
          index,
          parent,
          uploads,
          root,
          mentionIds: facts.mentioned(part.roomId, candidates[index] ?? []),
          row: newRow(req, part.lastSeq + BigInt(part.accepted.length + 1), createdAt),
        });
      } catch (err) {
        outcomes[index] = { kind: "failed", error: ConnectError.from(err) };
      }
    }
  }
  const written = [...parts.values()].filter((p) => p.accepted.length > 0);
  if (written.length === 0) return { outcomes: outcomes as SendOutcome[], rooms: [] };

  const at = sqlDateTime(createdAt);
  const all = written.flatMap((p) => p.accepted);
  const [, idRows = []] = await tx.run([
    insertMessages(
      all.map((a) => ({
        ...a.row,
        searchTokens: a.row.kind === "TEXT" ? indexTokens(a.row.text, a.row.roomId) : null,
      })),
      at,
    ),
    messageIdsBySeq(
      written.map((p) => ({
        roomId: p.roomId,
        after: p.lastSeq,
        upTo: p.lastSeq + BigInt(p.accepted.length),
      })),
    ),
  ]);
  const ids = idsBySeq(idRows);

  const result: RoomEvents[] = [];
  const events: NewEventRow[] = [];
  const mentions: { messageId: bigint; userId: bigint; roomId: bigint; seq: bigint }[] = [];
  const counters: { roomId: bigint; lastSeq: bigint; lastMessageId: bigint }[] = [];
  const attached: { uploadId: bigint; messageId: bigint; roomId: bigint; position: number }[] = [];
  const repliers: { rootId: bigint; userId: bigint; roomId: bigint; seq: bigint }[] = [];
  const authors: { rootId: bigint; userId: bigint; roomId: bigint }[] = [];
  for (const part of written) {
    const out: RoomEvents = { roomId: part.roomId, events: [], bytes: [] };
    for (const a of part.accepted) {
      const req = reqs[a.index] as SendRequest;
      const id = ids.get(`${part.roomId}:${a.row.seq}`);
      if (id === undefined) throw new Error(`message at seq ${a.row.seq} was not stored`);
      a.row.id = id;
      const message = newMessageView(
        a.row,
        a.mentionIds,
        a.parent && toReplyPreview(a.parent),
        a.uploads.map(toAttachment),
      );
      if (a.root) {
        repliers.push({
          rootId: a.root.id,
          userId: req.senderId,
          roomId: part.roomId,
          seq: a.row.seq,
        });
        if (a.root.senderId !== null && a.root.senderId !== req.senderId) {
          authors.push({ rootId: a.root.id, userId: a.root.senderId, roomId: part.roomId });
        }
      }
      a.uploads.forEach((u, position) => {
        attached.push({ uploadId: u.id, messageId: id, roomId: part.roomId, position });
      });
      outcomes[a.index] = { kind: "created", message };
      for (const userId of a.mentionIds) {
        mentions.push({ messageId: id, userId, roomId: part.roomId, seq: a.row.seq });
      }
      const event = create(RoomEventSchema, {
        roomId: part.roomId,
        seq: a.row.seq,
        time: timestampFromDate(createdAt),
        actorId: req.senderId,
        change: { case: "messageCreated", value: create(MessageCreatedSchema, { message }) },
      });
      // Encoded once: stored for replay and handed to the live feeds as is.
      const bytes = toBinary(RoomEventSchema, event);
      out.events.push(event);
      out.bytes.push(bytes);
      events.push({
        roomId: part.roomId,
        seq: event.seq,
        type: "messageCreated",
        actorId: req.senderId,
        payload: bytes,
      });
    }
    const last = part.accepted.at(-1) as Accepted;
    counters.push({ roomId: part.roomId, lastSeq: last.row.seq, lastMessageId: last.row.id });
    result.push(out);
  }
  const writes: Stmt[] = [insertEvents(events, at), advanceRooms(counters, at)];
  if (mentions.length > 0) writes.push(insertMentions(mentions));
  if (slowed.length > 0) writes.push(touchLastSent(slowed, at));
  if (attached.length > 0) writes.push(attachUploads(attached));
  if (repliers.length > 0) writes.push(followAsReplier(repliers, at));
  if (authors.length > 0) writes.push(followAsAuthor(authors, at));
  await tx.run(writes, { commit: true });
  return { outcomes: outcomes as SendOutcome[], rooms: result };
}

/**
 * An upload a call may attach: the sender's own (anyone else's is not
 * found, as for every private thing), stored, and attached to nothing yet,
 * in the database or earlier in this batch.
 */
function attachable(
  row: UploadRow | undefined,
  senderId: bigint,
  taken: ReadonlySet<bigint>,
  field: string,
): UploadRow {
  if (!row || row.ownerId !== senderId) {
    throw new ConnectError(`${field}: upload not found`, Code.NotFound);
  }
  if (row.status !== "READY") {
    throw new ConnectError(
      `${field}: upload ${row.id} has not been sent yet (PUT its bytes first)`,
      Code.FailedPrecondition,
    );
  }
  if (row.messageId !== null || taken.has(row.id)) {
    throw new ConnectError(
      `${field}: upload ${row.id} is already attached to a message`,
      Code.FailedPrecondition,
    );
  }
  return row;
}

function newRow(req: SendRequest, seq: bigint, createdAt: Date): MessageRow {
  return {
    id: 0n, // known after the INSERT
    roomId: req.roomId,
    seq,
    senderId: req.senderId,
    clientMsgId: req.clientMsgId,
    kind: req.kind,
    text: req.text,
    payload: req.payload,
    replyToId: req.replyToId === 0n ? null : req.replyToId,
    threadRootId: req.threadRootId ? req.threadRootId : null,
    createdAt,
    editedAt: null,
    deletedAt: null,
    deletedById: null,
  };
}

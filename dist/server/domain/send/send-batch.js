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
import { ConnectError } from "@connectrpc/connect";
import { MessageCreatedSchema, RoomEventSchema, } from "../../../gen/chat/v1/event_pb.js";
import { invalidArgument } from "../../platform/errors.js";
import { advanceRooms, idsBySeq, insertEvents, insertMentions, insertMessages, messageIdsBySeq, } from "../../store/sql/send.js";
import { sqlDateTime } from "../../store/tx.js";
import { notJoined, requireNotArchived, requireRole, roomNotFound, visible } from "../access.js";
import { mentionCandidates } from "../mentions.js";
import { newMessageView, toReplyPreview } from "../message-view.js";
import { lockAndRead, sendKey } from "./send-reads.js";
/**
 * Runs one batch in `tx`. Throws only for database failures; a request's
 * own failure is its outcome.
 */
export async function writeSendBatch(tx, reqs, now) {
    const parts = new Map();
    reqs.forEach((r, index) => {
        const part = parts.get(r.roomId);
        if (part)
            part.indexes.push(index);
        else
            parts.set(r.roomId, { roomId: r.roomId, indexes: [index], lastSeq: 0n, accepted: [] });
    });
    const candidates = reqs.map((r) => (r.kind === "TEXT" ? mentionCandidates(r.text) : []));
    const facts = await lockAndRead(tx, reqs.map((r, i) => ({ ...r, mentions: candidates[i] ?? [] })));
    const createdAt = now();
    // Accepted requests get their outcome once their message id is known.
    const outcomes = reqs.map(() => undefined);
    for (const part of parts.values()) {
        const room = facts.room(part.roomId);
        if (!room) {
            for (const i of part.indexes)
                outcomes[i] = { kind: "failed", error: roomNotFound() };
            continue;
        }
        part.lastSeq = room.lastSeq;
        const claimed = new Map();
        for (const index of part.indexes) {
            const req = reqs[index];
            try {
                // Same order of checks as a lone send: membership, key, archive, reply.
                const m = facts.membership(part.roomId, req.senderId);
                if (!visible(room, m))
                    throw roomNotFound();
                if (m?.state !== "JOINED")
                    throw notJoined();
                if (req.minRole !== "MEMBER")
                    requireRole(m, req.minRole, "send custom events");
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
                claimed.set(key, index);
                part.accepted.push({
                    index,
                    parent,
                    mentionIds: facts.mentioned(part.roomId, candidates[index] ?? []),
                    row: newRow(req, part.lastSeq + BigInt(part.accepted.length + 1), createdAt),
                });
            }
            catch (err) {
                outcomes[index] = { kind: "failed", error: ConnectError.from(err) };
            }
        }
    }
    const written = [...parts.values()].filter((p) => p.accepted.length > 0);
    if (written.length === 0)
        return { outcomes: outcomes, rooms: [] };
    const at = sqlDateTime(createdAt);
    const all = written.flatMap((p) => p.accepted);
    const [, idRows = []] = await tx.run([
        insertMessages(all.map((a) => a.row), at),
        messageIdsBySeq(written.map((p) => ({
            roomId: p.roomId,
            after: p.lastSeq,
            upTo: p.lastSeq + BigInt(p.accepted.length),
        }))),
    ]);
    const ids = idsBySeq(idRows);
    const result = [];
    const events = [];
    const mentions = [];
    const counters = [];
    for (const part of written) {
        const out = { roomId: part.roomId, events: [], bytes: [] };
        for (const a of part.accepted) {
            const req = reqs[a.index];
            const id = ids.get(`${part.roomId}:${a.row.seq}`);
            if (id === undefined)
                throw new Error(`message at seq ${a.row.seq} was not stored`);
            a.row.id = id;
            const message = newMessageView(a.row, a.mentionIds, a.parent && toReplyPreview(a.parent));
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
        const last = part.accepted.at(-1);
        counters.push({ roomId: part.roomId, lastSeq: last.row.seq, lastMessageId: last.row.id });
        result.push(out);
    }
    const writes = [insertEvents(events, at), advanceRooms(counters, at)];
    if (mentions.length > 0)
        writes.push(insertMentions(mentions));
    await tx.run(writes, { commit: true });
    return { outcomes: outcomes, rooms: result };
}
function newRow(req, seq, createdAt) {
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
        createdAt,
        editedAt: null,
        deletedAt: null,
        deletedById: null,
    };
}
//# sourceMappingURL=send-batch.js.map
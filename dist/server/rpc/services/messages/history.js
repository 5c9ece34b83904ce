/** MessageService: history pages and single messages. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GetMessageResponseSchema, ListMessagesResponseSchema, } from "../../../../gen/chat/v1/message_pb.js";
import { readableRoom } from "../../../domain/access.js";
import { messageSelect, viewMessages } from "../../../domain/message-view.js";
import { defaultPageSize, maxPageSize, me, messageNotFound } from "./shared.js";
/** listMessages, getMessage. */
export function historyMethods({ prisma, }) {
    return {
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
            if (!row)
                throw messageNotFound();
            await readableRoom(prisma, row.roomId, userId).catch((err) => {
                throw ConnectError.from(err).code === Code.NotFound ? messageNotFound() : err;
            });
            const [message] = await viewMessages(prisma, [row], userId);
            return create(GetMessageResponseSchema, { message });
        },
    };
}
/**
 * Keyset pages over the unique (room_id, seq) index, bounded by the room's
 * last_seq read before (so the page and `last_seq` agree even while others
 * write): at most three index range reads.
 */
async function historyPage(db, roomId, lastSeq, anchor, limit) {
    const older = (below, take) => db.message.findMany({
        where: { roomId, seq: { lt: below, lte: lastSeq } },
        orderBy: { seq: "desc" },
        take,
        select: messageSelect,
    });
    const newer = (from, take) => db.message.findMany({
        where: { roomId, seq: { gte: from, lte: lastSeq } },
        orderBy: { seq: "asc" },
        take,
        select: messageSelect,
    });
    const exists = async (where) => (await db.message.findFirst({
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
//# sourceMappingURL=history.js.map
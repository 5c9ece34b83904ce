/** RoomService: the public directory and the caller's own rooms. */
import { create } from "@bufbuild/protobuf";
import { ListMyRoomsResponseSchema, ListPublicRoomsResponseSchema, MyRoomSchema, } from "../../../../gen/chat/v1/room_pb.js";
import { messageSelect, viewMessages } from "../../../domain/message-view.js";
import { decodeNameCursor, decodeTimeCursor, encodeNameCursor, encodeTimeCursor, } from "../../../domain/pagination.js";
import { roleToProto, roomSelect, toRoom } from "../../../domain/room-view.js";
import { escapeLike } from "../../../domain/text.js";
import { unreadCounts } from "../../../domain/unread.js";
import { toUser, userSelect } from "../../../domain/user-view.js";
import { callerOf } from "../../context.js";
import { maxPeers, myRoomsPageSize, publicPageSize } from "./shared.js";
/** listPublicRooms, listMyRooms. */
export function listMethods({ prisma, }) {
    return {
        async listPublicRooms(req, ctx) {
            const me = callerOf(ctx).userId;
            const after = decodeNameCursor(req.pageToken);
            const take = req.pageSize || publicPageSize;
            const query = req.query.trim();
            // The name column's collation is case-insensitive, so `contains` is
            // too. Prisma passes it to LIKE unescaped: escape `%`, `_` and `\`.
            const and = [
                { visibility: "PUBLIC", archivedAt: null },
                { memberships: { none: { userId: me, state: "BANNED" } } },
            ];
            if (query !== "")
                and.push({ name: { contains: escapeLike(query) } });
            if (after) {
                and.push({
                    OR: [{ name: { gt: after.name } }, { name: after.name, id: { gt: after.id } }],
                });
            }
            const rows = await prisma.room.findMany({
                where: { AND: and },
                orderBy: [{ name: "asc" }, { id: "asc" }],
                take: take + 1,
                select: roomSelect,
            });
            const page = rows.slice(0, take);
            const last = page.at(-1);
            return create(ListPublicRoomsResponseSchema, {
                rooms: page.map(toRoom),
                nextPageToken: rows.length > take && last ? encodeNameCursor(last.name, last.id) : "",
            });
        },
        async listMyRooms(req, ctx) {
            const me = callerOf(ctx).userId;
            const after = decodeTimeCursor(req.pageToken);
            const take = req.pageSize || myRoomsPageSize;
            const and = [
                { memberships: { some: { userId: me, state: "JOINED" } } },
            ];
            if (!req.includeArchived)
                and.push({ archivedAt: null });
            if (after) {
                and.push({
                    OR: [
                        { lastActivityAt: { lt: after.time } },
                        { lastActivityAt: after.time, id: { lt: after.id } },
                    ],
                });
            }
            const rows = await prisma.room.findMany({
                where: { AND: and },
                orderBy: [{ lastActivityAt: "desc" }, { id: "desc" }],
                take: take + 1,
                select: { ...roomSelect, lastMessageId: true },
            });
            const page = rows.slice(0, take);
            const last = page.at(-1);
            const nextPageToken = rows.length > take && last ? encodeTimeCursor(last.lastActivityAt, last.id) : "";
            if (page.length === 0)
                return create(ListMyRoomsResponseSchema, { rooms: [], nextPageToken });
            const roomIds = page.map((r) => r.id);
            const memberships = await prisma.membership.findMany({
                where: { userId: me, roomId: { in: roomIds }, state: "JOINED" },
                select: { roomId: true, role: true, lastReadSeq: true },
            });
            const mine = new Map(memberships.map((m) => [m.roomId, m]));
            const counts = await unreadCounts(prisma, me, memberships.map((m) => ({ roomId: m.roomId, lastReadSeq: m.lastReadSeq })));
            const lastIds = page.flatMap((r) => (r.lastMessageId === null ? [] : [r.lastMessageId]));
            const lastRows = lastIds.length === 0
                ? []
                : await prisma.message.findMany({
                    where: { id: { in: lastIds } },
                    select: messageSelect,
                });
            const views = await viewMessages(prisma, lastRows, me);
            const lastMessages = new Map(views.map((v) => [v.id, v]));
            const directIds = page.filter((r) => r.kind !== "CHANNEL").map((r) => r.id);
            const peers = new Map();
            if (directIds.length > 0) {
                const peerRows = await prisma.membership.findMany({
                    where: { roomId: { in: directIds }, state: "JOINED", userId: { not: me } },
                    orderBy: [{ joinedAt: "asc" }, { userId: "asc" }],
                    select: { roomId: true, user: { select: userSelect } },
                });
                for (const p of peerRows) {
                    const list = peers.get(p.roomId) ?? [];
                    if (list.length < maxPeers)
                        list.push(toUser(p.user));
                    peers.set(p.roomId, list);
                }
            }
            return create(ListMyRoomsResponseSchema, {
                // A room left between the two reads is dropped rather than shown
                // without a role.
                rooms: page.flatMap((r) => {
                    const m = mine.get(r.id);
                    if (!m)
                        return [];
                    const n = counts.get(r.id);
                    return [
                        create(MyRoomSchema, {
                            room: toRoom(r),
                            role: roleToProto[m.role],
                            lastReadSeq: m.lastReadSeq,
                            unreadCount: n?.unread ?? 0,
                            mentionCount: n?.mentions ?? 0,
                            lastMessage: r.lastMessageId === null ? undefined : lastMessages.get(r.lastMessageId),
                            peers: peers.get(r.id) ?? [],
                        }),
                    ];
                }),
                nextPageToken,
            });
        },
    };
}
//# sourceMappingURL=lists.js.map
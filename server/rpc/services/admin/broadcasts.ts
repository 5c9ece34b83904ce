/**
 * AdminService: broadcasts (a system notice to one room, some rooms, every
 * room, or one user's feeds) and priority custom events. Both take the
 * server's own message path (domain/admin/server-messages.ts), apart from
 * users' sends and whatever limits those get.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  BroadcastResponseSchema,
  SendPriorityEventResponseSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { CustomPayloadSchema } from "../../../../gen/chat/v1/message_pb.js";
import { UserNoticeSchema } from "../../../../gen/chat/v1/notice_pb.js";
import {
  isArchivedRefusal,
  postBroadcast,
  postPriorityEvent,
} from "../../../domain/admin/server-messages.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { AdminDeps } from "./shared.js";

/** Rooms written at once by a many-room broadcast. */
const broadcastConcurrency = 8;
/** Rooms read per page by an all-rooms broadcast. */
const roomPage = 500;

/** broadcast, sendPriorityEvent. */
export function adminBroadcastMethods({
  prisma,
  writer,
  feed,
  clock,
}: AdminDeps): Pick<ServiceImpl<typeof AdminService>, "broadcast" | "sendPriorityEvent"> {
  /** Posts the notice in each room; archived rooms are skipped, unknown ones fail the call first. */
  async function toRooms(
    roomIds: bigint[],
    text: string,
  ): Promise<{ rooms: number; skipped: number }> {
    let rooms = 0;
    let skipped = 0;
    for (let i = 0; i < roomIds.length; i += broadcastConcurrency) {
      const part = roomIds.slice(i, i + broadcastConcurrency);
      const results = await Promise.allSettled(part.map((id) => postBroadcast(writer, id, text)));
      for (const r of results) {
        if (r.status === "fulfilled") rooms += 1;
        else if (isArchivedRefusal(r.reason)) skipped += 1;
        else throw r.reason;
      }
    }
    return { rooms, skipped };
  }

  return {
    async broadcast(req) {
      const text = req.text.trim();
      if (text === "") throw invalidArgument([{ field: "text", description: "must not be blank" }]);
      const t = req.target;
      switch (t.case) {
        case "roomId": {
          const r = await toRooms([t.value], text);
          return create(BroadcastResponseSchema, { rooms: r.rooms, skippedRooms: r.skipped });
        }
        case "rooms": {
          const ids = [...new Set(t.value.roomIds)];
          const known = await prisma.room.findMany({
            where: { id: { in: ids } },
            select: { id: true },
          });
          if (known.length !== ids.length) {
            const have = new Set(known.map((r) => r.id));
            const missing = ids.filter((id) => !have.has(id));
            throw new ConnectError(`rooms not found: ${missing.join(", ")}`, Code.NotFound);
          }
          const r = await toRooms(ids, text);
          return create(BroadcastResponseSchema, { rooms: r.rooms, skippedRooms: r.skipped });
        }
        case "allRooms": {
          if (!t.value) {
            throw invalidArgument([{ field: "all_rooms", description: "must be true" }]);
          }
          let rooms = 0;
          let skipped = 0;
          for (let after = 0n; ; ) {
            const page = await prisma.room.findMany({
              where: { id: { gt: after }, archivedAt: null },
              orderBy: { id: "asc" },
              take: roomPage,
              select: { id: true },
            });
            if (page.length === 0) break;
            const r = await toRooms(
              page.map((p) => p.id),
              text,
            );
            rooms += r.rooms;
            skipped += r.skipped;
            after = page[page.length - 1]?.id ?? after;
          }
          return create(BroadcastResponseSchema, { rooms, skippedRooms: skipped });
        }
        case "userId": {
          const user = await prisma.user.findUnique({
            where: { id: t.value },
            select: { id: true },
          });
          if (!user) throw new ConnectError(`user ${t.value} not found`, Code.NotFound);
          const notice = create(UserNoticeSchema, {
            id: randomUUID(),
            text,
            time: timestampFromDate(clock.now()),
          });
          feed.noticeUser(t.value, notice);
          return create(BroadcastResponseSchema, { noticeId: notice.id });
        }
        default:
          throw invalidArgument([{ field: "target", description: "is required" }]);
      }
    },

    async sendPriorityEvent(req) {
      if (req.body.case === "json") {
        try {
          JSON.parse(req.body.value);
        } catch {
          throw invalidArgument([{ field: "json", description: "must be valid JSON" }]);
        }
      }
      const payload = create(CustomPayloadSchema, {
        type: req.type,
        body:
          req.body.case === "json"
            ? { case: "json", value: req.body.value }
            : { case: "data", value: req.body.case === "data" ? req.body.value : new Uint8Array() },
      });
      const { message, seq } = await postPriorityEvent(writer, req.roomId, payload);
      return create(SendPriorityEventResponseSchema, { message, seq });
    },
  };
}

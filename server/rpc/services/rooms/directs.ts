/** RoomService: direct conversations (one per pair of users) and group DMs. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateGroupDirectResponseSchema,
  OpenDirectResponseSchema,
  type RoomService,
} from "../../../../gen/chat/v1/room_pb.js";
import { recordInvitations, splitByConsent } from "../../../domain/consent/consent.js";
import { directKey, uniqueIds } from "../../../domain/room-rules.js";
import { roomSelect, toRoom } from "../../../domain/room-view.js";
import { invalidArgument } from "../../../platform/errors.js";
import { isTransientTxError, isUniqueViolation } from "../../../store/errors.js";
import { callerOf } from "../../context.js";
import type { RoomServiceDeps } from "./shared.js";
import { firstChange, openDirectAttempts } from "./shared.js";

/** openDirect, createGroupDirect. */
export function directMethods({
  prisma,
  writer,
  limits,
  defaultWhoMayAdd,
}: RoomServiceDeps): Pick<ServiceImpl<typeof RoomService>, "openDirect" | "createGroupDirect"> {
  return {
    async openDirect(req, ctx) {
      const me = callerOf(ctx).userId;
      if (req.userId === me) {
        throw invalidArgument([
          { field: "user_id", description: "is you: a direct conversation needs another user" },
        ]);
      }
      const other = await prisma.user.findUnique({
        where: { id: req.userId },
        select: { id: true },
      });
      if (!other) throw new ConnectError("user not found", Code.NotFound);
      const key = directKey(me, other.id);
      // A peer who did not consent gets an invitation to the conversation instead.
      const { ask } = await splitByConsent(prisma, me, [other.id], defaultWhoMayAdd);
      // Both sides may race to create the room: the unique direct_key lets
      // one insert win; the loser re-reads the winner's room.
      for (let attempt = 1; ; attempt++) {
        const existing = await prisma.room.findUnique({
          where: { directKey: key },
          select: roomSelect,
        });
        if (existing)
          return create(OpenDirectResponseSchema, { room: toRoom(existing), created: false });
        try {
          const { result } = await writer.create(
            { kind: "DIRECT", visibility: "PRIVATE", name: "", creatorId: me, directKey: key },
            async (c) => {
              const room = await firstChange(
                c,
                me,
                "MEMBER",
                ask.length ? [] : [other.id],
                "user_id",
              );
              await recordInvitations(c, me, ask);
              return room;
            },
          );
          return create(OpenDirectResponseSchema, {
            room: toRoom(result),
            created: true,
            invitedUserIds: ask,
          });
        } catch (err) {
          if (
            attempt >= openDirectAttempts ||
            !(isUniqueViolation(err) || isTransientTxError(err))
          ) {
            throw err;
          }
        }
      }
    },
    async createGroupDirect(req, ctx) {
      const me = callerOf(ctx).userId;
      if (req.userIds.includes(me)) {
        throw invalidArgument([
          {
            field: "user_ids",
            description: "must list the other participants only: you are added anyway",
          },
        ]);
      }
      const others = uniqueIds(req.userIds);
      await limits.check("roomCreates", me);
      if (others.length > 0) await limits.check("invitations", me, others.length);
      const { add, ask } = await splitByConsent(prisma, me, others, defaultWhoMayAdd);
      const { result } = await writer.create(
        { kind: "GROUP_DIRECT", visibility: "PRIVATE", name: "", creatorId: me },
        async (c) => {
          const room = await firstChange(c, me, "OWNER", add, "user_ids");
          await recordInvitations(c, me, ask);
          return room;
        },
      );
      return create(CreateGroupDirectResponseSchema, { room: toRoom(result), invitedUserIds: ask });
    },
  };
}

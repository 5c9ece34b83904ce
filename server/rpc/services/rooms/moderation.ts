/** RoomService: kick, ban, unban and roles. A moderator acts only on members ranked below them. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MemberRoleChangedSchema, MemberUnbannedSchema } from "../../../../gen/chat/v1/event_pb.js";
import { RoleChangedNoticeSchema } from "../../../../gen/chat/v1/message_pb.js";
import {
  BanMemberResponseSchema,
  KickMemberResponseSchema,
  type RoomService,
  SetMemberRoleResponseSchema,
  UnbanMemberResponseSchema,
} from "../../../../gen/chat/v1/room_pb.js";
import { actingMember, membershipOf, requireRole } from "../../../domain/access.js";
import { banMember, kickMember } from "../../../domain/moderation/removals.js";
import { loadUsers, rejectDirect, requireUser, systemMessage } from "../../../domain/room-rules.js";
import { roleFromProto, roleToProto, toMember } from "../../../domain/room-view.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { $Enums } from "../../../store/prisma.js";
import { callerOf } from "../../context.js";
import type { RoomServiceDeps } from "./shared.js";

/** kickMember, banMember, unbanMember, setMemberRole. */
export function moderationMethods({
  writer,
}: RoomServiceDeps): Pick<
  ServiceImpl<typeof RoomService>,
  "kickMember" | "banMember" | "unbanMember" | "setMemberRole"
> {
  return {
    async kickMember(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, (c) => kickMember(c, me, req.userId));
      return create(KickMemberResponseSchema, {});
    },
    async banMember(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, (c) => banMember(c, me, req.userId));
      return create(BanMemberResponseSchema, {});
    },
    async unbanMember(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be moderated");
        requireRole(m, "ADMIN", "unban users");
        const target = await membershipOf(c.tx, c.room.id, req.userId);
        if (target?.state !== "BANNED") return; // nothing to lift: no change
        const seq = c.nextSeq();
        // Not re-added: the user may join or be invited again.
        await c.tx.membership.update({
          where: { roomId_userId: { roomId: c.room.id, userId: req.userId } },
          data: { state: "LEFT", updatedAt: c.now },
        });
        c.emit(seq, me, {
          case: "memberUnbanned",
          value: create(MemberUnbannedSchema, { userId: req.userId }),
        });
      });
      return create(UnbanMemberResponseSchema, {});
    },
    async setMemberRole(req, ctx) {
      const me = callerOf(ctx).userId;
      const role = roleFromProto[req.role];
      if (!role) {
        throw invalidArgument([{ field: "role", description: "must be MEMBER, ADMIN or OWNER" }]);
      }
      const member = await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "have roles changed");
        requireRole(m, "OWNER", "change member roles");
        if (req.userId === me) {
          throw invalidArgument([
            {
              field: "user_id",
              description: "is you: to hand over ownership, make another member OWNER",
            },
          ]);
        }
        const target = await membershipOf(c.tx, c.room.id, req.userId);
        if (target?.state !== "JOINED") {
          throw new ConnectError("that user is not a member of this room", Code.NotFound);
        }
        const user = requireUser(await loadUsers(c.tx, [req.userId]), req.userId);
        if (target.role === role) return toMember(user, role, target.joinedAt);
        const changeRole = async (userId: bigint, to: $Enums.MemberRole) => {
          const seq = c.nextSeq();
          await c.tx.membership.update({
            where: { roomId_userId: { roomId: c.room.id, userId } },
            data: { role: to, updatedAt: c.now },
          });
          c.emit(seq, me, {
            case: "memberRoleChanged",
            value: create(MemberRoleChangedSchema, { userId, role: roleToProto[to] }),
          });
          await systemMessage(c, seq, me, {
            case: "roleChanged",
            value: create(RoleChangedNoticeSchema, { userId, role: roleToProto[to] }),
          });
        };
        await changeRole(req.userId, role);
        // Exactly one owner: the old one steps down to ADMIN.
        if (role === "OWNER") await changeRole(me, "ADMIN");
        return toMember(user, role, target.joinedAt);
      });
      return create(SetMemberRoleResponseSchema, { member });
    },
  };
}

/** RoomService: joining, leaving, invitations and the member list. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MemberRemoved_Reason } from "../../../../gen/chat/v1/event_pb.js";
import {
  MemberLeftNoticeSchema,
  MembersJoinedNoticeSchema,
} from "../../../../gen/chat/v1/message_pb.js";
import {
  InviteMembersResponseSchema,
  JoinRoomResponseSchema,
  LeaveRoomResponseSchema,
  ListMembersResponseSchema,
  type Member,
  type RoomService,
} from "../../../../gen/chat/v1/room_pb.js";
import {
  actingMember,
  membershipOf,
  notJoined,
  readableRoom,
  requireNotArchived,
  requireRole,
  roomNotFound,
} from "../../../domain/access.js";
import { recordInvitations, splitByConsent } from "../../../domain/consent/consent.js";
import { decodeTimeCursor, encodeTimeCursor } from "../../../domain/pagination.js";
import {
  admitMembers,
  dismissMember,
  failedPrecondition,
  loadUsers,
  maxGroupDirectMembers,
  memberRemoved,
  membersAdded,
  rejectDirect,
  requireKnown,
  requireUser,
  roomAfter,
  systemMessage,
  uniqueIds,
} from "../../../domain/room-rules.js";
import { toMember, toRoom } from "../../../domain/room-view.js";
import { userSelect } from "../../../domain/user-view.js";
import type { Prisma } from "../../../store/prisma.js";
import { callerOf } from "../../context.js";
import type { RoomServiceDeps } from "./shared.js";
import { membersPageSize } from "./shared.js";

/** joinRoom, leaveRoom, inviteMembers, listMembers. */
export function memberMethods({
  prisma,
  writer,
  limits,
  defaultWhoMayAdd,
}: RoomServiceDeps): Pick<
  ServiceImpl<typeof RoomService>,
  "joinRoom" | "leaveRoom" | "inviteMembers" | "listMembers"
> {
  return {
    async joinRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const room = await writer.change(req.roomId, async (c) => {
        const m = await membershipOf(c.tx, c.room.id, me);
        if (m?.state === "JOINED") return roomAfter(c);
        if (c.room.visibility !== "PUBLIC") throw roomNotFound();
        if (m?.state === "BANNED") {
          throw new ConnectError("you are banned from this room", Code.PermissionDenied);
        }
        requireNotArchived(c.room);
        const users = await loadUsers(c.tx, [me]);
        const user = requireUser(users, me);
        const seq = c.nextSeq();
        await admitMembers(c, seq, [{ userId: me, role: "MEMBER" }], new Set(m ? [me] : []));
        c.emit(seq, me, membersAdded([toMember(user, "MEMBER", c.now)]));
        await systemMessage(c, seq, me, {
          case: "membersJoined",
          value: create(MembersJoinedNoticeSchema, { userIds: [me] }),
        });
        return roomAfter(c, seq);
      });
      return create(JoinRoomResponseSchema, { room: toRoom(room) });
    },
    async leaveRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be left");
        if (m.role === "OWNER" && c.room.memberCount > 1) {
          throw failedPrecondition(
            "the owner cannot leave while others remain: transfer ownership first (SetMemberRole OWNER)",
          );
        }
        const seq = c.nextSeq();
        await dismissMember(c, me, "LEFT");
        c.emit(seq, me, memberRemoved(me, MemberRemoved_Reason.LEFT));
        await systemMessage(c, seq, me, {
          case: "memberLeft",
          value: create(MemberLeftNoticeSchema, { userId: me }),
        });
      });
      return create(LeaveRoomResponseSchema, {});
    },
    async inviteMembers(req, ctx) {
      const me = callerOf(ctx).userId;
      const ids = uniqueIds(req.userIds);
      if (ids.length > 0) await limits.check("invitations", me, ids.length);
      const consent = await splitByConsent(prisma, me, ids, defaultWhoMayAdd);
      const asked = new Set(consent.ask);
      let invited: bigint[] = [];
      const added = await writer.change(req.roomId, async (c): Promise<Member[]> => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "take more members: use CreateGroupDirect");
        if (c.room.kind === "CHANNEL" && c.room.visibility === "PRIVATE") {
          requireRole(m, "ADMIN", "invite members to a private room");
        }
        const users = await loadUsers(c.tx, ids);
        requireKnown(ids, users, "user_ids");
        const rows = await c.tx.membership.findMany({
          where: { roomId: c.room.id, userId: { in: ids } },
          select: { userId: true, state: true },
        });
        const banned = rows.filter((r) => r.state === "BANNED").map((r) => r.userId);
        if (banned.length > 0) {
          const names = banned.map((id) => users.get(id)?.username ?? String(id)).join(", ");
          throw failedPrecondition(`banned from this room, unban them first: ${names}`);
        }
        const joined = new Set(rows.filter((r) => r.state === "JOINED").map((r) => r.userId));
        invited = ids.filter((id) => !joined.has(id) && asked.has(id));
        await recordInvitations(c, me, invited);
        const toAdd = ids.filter((id) => !joined.has(id) && !asked.has(id));
        if (toAdd.length === 0) return [];
        if (
          c.room.kind === "GROUP_DIRECT" &&
          c.room.memberCount + toAdd.length > maxGroupDirectMembers
        ) {
          throw failedPrecondition(
            `a group conversation has at most ${maxGroupDirectMembers} members (now ${c.room.memberCount})`,
          );
        }
        const seq = c.nextSeq();
        await admitMembers(
          c,
          seq,
          toAdd.map((userId) => ({ userId, role: "MEMBER" as const })),
          new Set(rows.map((r) => r.userId)),
        );
        const members = toAdd.map((id) => toMember(requireUser(users, id), "MEMBER", c.now));
        c.emit(seq, me, membersAdded(members));
        await systemMessage(c, seq, me, {
          case: "membersJoined",
          value: create(MembersJoinedNoticeSchema, { userIds: toAdd }),
        });
        return members;
      });
      return create(InviteMembersResponseSchema, { added, invitedUserIds: invited });
    },
    async listMembers(req, ctx) {
      const me = callerOf(ctx).userId;
      const after = decodeTimeCursor(req.pageToken);
      const take = req.pageSize || membersPageSize;
      const { room, membership } = await readableRoom(prisma, req.roomId, me);
      // Who is banned is moderators' business: members and readers of a
      // public room see only the current members.
      if (req.banned) {
        if (!membership) throw notJoined();
        requireRole(membership, "ADMIN", "list banned users");
      }
      const where: Prisma.MembershipWhereInput = {
        roomId: room.id,
        state: req.banned ? "BANNED" : "JOINED",
      };
      if (after) {
        where.OR = [
          { joinedAt: { gt: after.time } },
          { joinedAt: after.time, userId: { gt: after.id } },
        ];
      }
      const rows = await prisma.membership.findMany({
        where,
        orderBy: [{ joinedAt: "asc" }, { userId: "asc" }],
        take: take + 1,
        select: {
          userId: true,
          role: true,
          joinedAt: true,
          mutedUntil: true,
          user: { select: userSelect },
        },
      });
      const page = rows.slice(0, take);
      const last = page.at(-1);
      const now = new Date();
      return create(ListMembersResponseSchema, {
        members: page.map((r) => {
          const member = toMember(r.user, r.role, r.joinedAt);
          // A mute that has run out is no mute: clients show only live ones.
          if (r.mutedUntil && r.mutedUntil > now)
            member.mutedUntil = timestampFromDate(r.mutedUntil);
          return member;
        }),
        nextPageToken:
          rows.length > take && last ? encodeTimeCursor(last.joinedAt, last.userId) : "",
      });
    },
  };
}

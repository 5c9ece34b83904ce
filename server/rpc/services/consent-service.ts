/**
 * chat.v1.ConsentService: the caller's add policy and their invitations
 * (domain/consent/consent.ts has the rules; rooms/ records invitations when
 * an add needs consent).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  AcceptInvitationResponseSchema,
  AddPolicy,
  type ConsentService,
  DeclineInvitationResponseSchema,
  GetPrivacyResponseSchema,
  InvitationSchema,
  ListInvitationsResponseSchema,
  SetPrivacyResponseSchema,
} from "../../../gen/chat/v1/consent_pb.js";
import { MembersJoinedNoticeSchema } from "../../../gen/chat/v1/message_pb.js";
import { requireNotArchived } from "../../domain/access.js";
import {
  type AddPolicyName,
  defaultAddPolicy,
  invitationNotFound,
} from "../../domain/consent/consent.js";
import {
  admitMembers,
  loadUsers,
  membersAdded,
  requireUser,
  roomAfter,
  systemMessage,
} from "../../domain/room-rules.js";
import { roomSelect, toMember, toRoom } from "../../domain/room-view.js";
import type { RoomWriter } from "../../domain/room-writer.js";
import { toUser, userSelect } from "../../domain/user-view.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Dependencies of the consent service. */
export interface ConsentServiceDeps {
  prisma: PrismaClient;
  writer: RoomWriter;
  /** DEFAULT_WHO_MAY_ADD. */
  defaultWhoMayAdd?: AddPolicyName;
}

const toProto: Record<AddPolicyName, AddPolicy> = {
  ANYONE: AddPolicy.ANYONE,
  SHARED_ROOM: AddPolicy.SHARED_ROOM,
  NOBODY: AddPolicy.NOBODY,
};
const fromProto: Partial<Record<AddPolicy, AddPolicyName>> = {
  [AddPolicy.ANYONE]: "ANYONE",
  [AddPolicy.SHARED_ROOM]: "SHARED_ROOM",
  [AddPolicy.NOBODY]: "NOBODY",
};

/** Pending invitations listed at most. */
const maxInvitations = 100;

/** Creates the ConsentService implementation. */
export function createConsentService({
  prisma,
  writer,
  defaultWhoMayAdd = defaultAddPolicy,
}: ConsentServiceDeps): ServiceImpl<typeof ConsentService> {
  const view = (chosen: AddPolicyName | null) => ({
    whoMayAdd: chosen ? toProto[chosen] : AddPolicy.UNSPECIFIED,
    effectiveWhoMayAdd: toProto[chosen ?? defaultWhoMayAdd],
  });
  const mine = async (id: bigint, userId: bigint) => {
    const inv = await prisma.invitation.findUnique({ where: { id } });
    if (!inv || inv.inviteeId !== userId || inv.state !== "PENDING") throw invitationNotFound();
    return inv;
  };
  return {
    async getPrivacy(_req, ctx) {
      const me = callerOf(ctx).userId;
      const u = await prisma.user.findUnique({ where: { id: me }, select: { whoMayAdd: true } });
      if (!u) throw new ConnectError("account no longer exists", Code.Unauthenticated);
      return create(GetPrivacyResponseSchema, view(u.whoMayAdd));
    },
    async setPrivacy(req, ctx) {
      const me = callerOf(ctx).userId;
      const whoMayAdd = fromProto[req.whoMayAdd] ?? null;
      const u = await prisma.user.update({
        where: { id: me },
        data: { whoMayAdd },
        select: { whoMayAdd: true },
      });
      return create(SetPrivacyResponseSchema, view(u.whoMayAdd));
    },
    async listInvitations(_req, ctx) {
      const me = callerOf(ctx).userId;
      const rows = await prisma.invitation.findMany({
        where: { inviteeId: me, state: "PENDING" },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: maxInvitations,
      });
      const [rooms, inviters] = await Promise.all([
        prisma.room.findMany({
          where: { id: { in: rows.map((r) => r.roomId) } },
          select: roomSelect,
        }),
        prisma.user.findMany({
          where: { id: { in: rows.map((r) => r.inviterId) } },
          select: userSelect,
        }),
      ]);
      const roomById = new Map(rooms.map((r) => [r.id, r]));
      const userById = new Map(inviters.map((u) => [u.id, u]));
      return create(ListInvitationsResponseSchema, {
        invitations: rows.flatMap((r) => {
          const room = roomById.get(r.roomId);
          const inviter = userById.get(r.inviterId);
          if (!room || !inviter) return [];
          return [
            create(InvitationSchema, {
              id: r.id,
              room: toRoom(room),
              inviter: toUser(inviter),
              createTime: timestampFromDate(r.createdAt),
            }),
          ];
        }),
      });
    },
    async acceptInvitation(req, ctx) {
      const me = callerOf(ctx).userId;
      const inv = await mine(req.invitationId, me);
      const room = await writer.change(inv.roomId, async (c) => {
        // Decided under the room's lock: two accepts join once.
        const again = await c.tx.invitation.findUnique({ where: { id: inv.id } });
        if (again?.state !== "PENDING" || again.inviteeId !== me) {
          throw invitationNotFound();
        }
        requireNotArchived(c.room);
        const row = await c.tx.membership.findUnique({
          where: { roomId_userId: { roomId: c.room.id, userId: me } },
          select: { state: true },
        });
        if (row?.state === "BANNED") {
          throw new ConnectError("you are banned from this room", Code.PermissionDenied);
        }
        await c.tx.invitation.update({
          where: { id: inv.id },
          data: { state: "ACCEPTED", decidedAt: c.now },
        });
        if (row?.state === "JOINED") return roomAfter(c);
        const seq = c.nextSeq();
        await admitMembers(
          c,
          seq,
          [{ userId: me, role: "MEMBER" }],
          row ? new Set([me]) : new Set(),
        );
        const users = await loadUsers(c.tx, [me]);
        c.emit(seq, me, membersAdded([toMember(requireUser(users, me), "MEMBER", c.now)]));
        await systemMessage(c, seq, me, {
          case: "membersJoined",
          value: create(MembersJoinedNoticeSchema, { userIds: [me] }),
        });
        return roomAfter(c, seq);
      });
      return create(AcceptInvitationResponseSchema, { room: toRoom(room) });
    },
    async declineInvitation(req, ctx) {
      const me = callerOf(ctx).userId;
      const inv = await mine(req.invitationId, me);
      const { count } = await prisma.invitation.updateMany({
        where: { id: inv.id, state: "PENDING" },
        data: { state: "DECLINED", decidedAt: new Date() },
      });
      if (count === 0) throw invitationNotFound();
      return create(DeclineInvitationResponseSchema);
    },
  };
}

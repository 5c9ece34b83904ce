/** RoomService: direct conversations (one per pair of users) and group DMs. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MembersJoinedNoticeSchema } from "../../../../gen/chat/v1/message_pb.js";
import {
  CreateGroupDirectResponseSchema,
  OpenDirectResponseSchema,
  type RoomService,
} from "../../../../gen/chat/v1/room_pb.js";
import { recordInvitations, splitByConsent } from "../../../domain/consent/consent.js";
import type { Tx } from "../../../domain/room-change.js";
import {
  admitMembers,
  directKey,
  loadUsers,
  membersAdded,
  requireUser,
  roomAfter,
  systemMessage,
  uniqueIds,
} from "../../../domain/room-rules.js";
import { type RoomRow, roomSelect, toMember, toRoom } from "../../../domain/room-view.js";
import { invalidArgument } from "../../../platform/errors.js";
import { isTransientTxError, isUniqueViolation } from "../../../store/errors.js";
import type { PrismaClient } from "../../../store/prisma.js";
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
  /**
   * An existing direct conversation one of the pair is not in (the peer was
   * invited and declined, or the opener was blocked, so no invitation was
   * recorded): the opener joins it, and the peer is added or invited again
   * as consent says, unless an invitation is still pending or the peer
   * blocked the opener. Null: nothing to do.
   */
  async function completeDirect(
    roomId: bigint,
    me: bigint,
    other: bigint,
    ask: boolean,
  ): Promise<{ room: RoomRow; invited: bigint[] } | null> {
    const missing = async (db: PrismaClient | Tx) => {
      const [rows, pending, blocked] = await Promise.all([
        db.membership.findMany({
          where: { roomId, userId: { in: [me, other] } },
          select: { userId: true, state: true },
        }),
        db.invitation.count({ where: { roomId, inviteeId: other, state: "PENDING" } }),
        db.userBlock.count({ where: { blockerId: other, blockedId: me } }),
      ]);
      const joined = new Set(rows.filter((r) => r.state === "JOINED").map((r) => r.userId));
      return {
        me: !joined.has(me),
        // A peer who blocked the opener looks like one whose invitation is
        // still pending: nothing to do, and nothing to tell.
        other: !joined.has(other) && pending === 0 && blocked === 0,
        haveRow: new Set(rows.map((r) => r.userId)),
      };
    };
    const seen = await missing(prisma);
    if (!seen.me && !seen.other) return null;
    return writer.change(roomId, async (c) => {
      const now = await missing(c.tx);
      if (!now.me && !now.other) return null;
      const invited = now.other && ask ? [other] : [];
      await recordInvitations(c, me, invited);
      const admit = [...(now.me ? [me] : []), ...(now.other && !ask ? [other] : [])];
      if (admit.length === 0) return { room: await roomAfter(c), invited };
      const users = await loadUsers(c.tx, admit);
      const seq = c.nextSeq();
      const entries = admit.map((userId) => ({ userId, role: "MEMBER" as const }));
      await admitMembers(c, seq, entries, now.haveRow);
      c.emit(
        seq,
        me,
        membersAdded(admit.map((id) => toMember(requireUser(users, id), "MEMBER", c.now))),
      );
      await systemMessage(c, seq, me, {
        case: "membersJoined",
        value: create(MembersJoinedNoticeSchema, { userIds: admit }),
      });
      return { room: await roomAfter(c, seq), invited };
    });
  }

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
        if (existing) {
          const completed = await completeDirect(existing.id, me, other.id, ask.length > 0);
          return create(OpenDirectResponseSchema, {
            room: toRoom(completed?.room ?? existing),
            created: false,
            invitedUserIds: completed?.invited ?? [],
          });
        }
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

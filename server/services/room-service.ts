/**
 * chat.v1.RoomService: rooms, direct conversations and memberships.
 *
 * Every change goes through the RoomWriter: it locks the room row, takes the
 * room's next dense sequence number and stores the RoomEvent in the same
 * transaction. A rejected call throws inside the change, so nothing is
 * written and the number is given back.
 *
 * Choices made here (the contract leaves them open):
 * - A new room's seq 1 is one `members_added` event (creator as OWNER, the
 *   initial members as MEMBER), and its history view is a SYSTEM message
 *   `room_created` at seq 1. Every room's history therefore starts at seq 1.
 * - Changes users see in history also store a SYSTEM message at the same seq
 *   as their event: members joined/added, left, kicked/banned, renamed,
 *   archived, role changed. Description-only updates, unbans and bans of
 *   users who were not members have only their event.
 * - Checks inside a change run in this order: not visible (NotFound),
 *   archived (FailedPrecondition), not a member (PermissionDenied), room kind
 *   (FailedPrecondition), role (PermissionDenied), then the request itself.
 * - DIRECT rooms have two MEMBERs and no owner: nothing in them can be
 *   moderated, updated, archived or left.
 * - Transferring ownership (SetMemberRole OWNER) takes two sequence numbers:
 *   first the new owner's role change, then the old owner's (to ADMIN).
 * - A user banned from a public room gets PermissionDenied from JoinRoom (as
 *   the contract says), NotFound from every other RPC, and the room is not
 *   in their ListPublicRooms.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  MemberRemoved_Reason,
  MemberRoleChangedSchema,
  MemberUnbannedSchema,
} from "../../gen/chat/v1/event_pb.js";
import type { Message } from "../../gen/chat/v1/message_pb.js";
import {
  MemberLeftNoticeSchema,
  MemberRemovedNoticeSchema,
  MembersJoinedNoticeSchema,
  RoleChangedNoticeSchema,
  RoomArchivedNoticeSchema,
  RoomCreatedNoticeSchema,
  RoomRenamedNoticeSchema,
} from "../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import {
  ArchiveRoomResponseSchema,
  BanMemberResponseSchema,
  CreateGroupDirectResponseSchema,
  CreateRoomResponseSchema,
  GetRoomResponseSchema,
  InviteMembersResponseSchema,
  JoinRoomResponseSchema,
  KickMemberResponseSchema,
  LeaveRoomResponseSchema,
  ListMembersResponseSchema,
  ListMyRoomsResponseSchema,
  ListPublicRoomsResponseSchema,
  type Member,
  MyRoomSchema,
  OpenDirectResponseSchema,
  type RoomService,
  SetMemberRoleResponseSchema,
  UnbanMemberResponseSchema,
  UpdateRoomResponseSchema,
  Visibility,
} from "../../gen/chat/v1/room_pb.js";
import type { User } from "../../gen/chat/v1/user_pb.js";
import type { $Enums, Prisma } from "../../prisma/generated/client.js";
import { callerOf } from "../context.js";
import { isTransientTxError, isUniqueViolation } from "../db/errors.js";
import { invalidArgument } from "../errors.js";
import {
  membershipOf,
  readableRoom,
  requireNotArchived,
  requireRole,
  roomNotFound,
} from "../rooms/access.js";
import {
  type RoomRow,
  roleFromProto,
  roleToProto,
  roomSelect,
  toMember,
  toRoom,
} from "../rooms/convert.js";
import { messageSelect, viewMessages } from "../rooms/message-view.js";
import {
  actingMember,
  admitMembers,
  decodeNameCursor,
  decodeTimeCursor,
  directKey,
  dismissMember,
  encodeNameCursor,
  encodeTimeCursor,
  escapeLike,
  failedPrecondition,
  loadUsers,
  maxGroupDirectMembers,
  memberRemoved,
  membersAdded,
  rejectDirect,
  requireKnown,
  requireOutranks,
  requireUser,
  roomAfter,
  roomUpdated,
  systemMessage,
  uniqueIds,
} from "../rooms/room-rules.js";
import type { RoomChange } from "../rooms/room-writer.js";
import { unreadCounts } from "../rooms/unread.js";
import type { RouteDeps } from "../routes.js";
import { toUser, userSelect } from "./convert.js";

const publicPageSize = 20;
const myRoomsPageSize = 50;
const membersPageSize = 50;
/** ListMyRooms shows at most this many peers per direct room. */
const maxPeers = 10;
/** OpenDirect retries this often when it loses a race or a deadlock. */
const openDirectAttempts = 5;

const visibilityFromProto: Partial<Record<Visibility, $Enums.RoomVisibility>> = {
  [Visibility.PUBLIC]: "PUBLIC",
  [Visibility.PRIVATE]: "PRIVATE",
};

/** Creates the RoomService implementation. */
export function createRoomService({ prisma, writer }: RouteDeps): ServiceImpl<typeof RoomService> {
  /**
   * The first change of a new room (seq 1): its members join in one
   * members_added event; the history shows room_created.
   */
  async function firstChange(
    c: RoomChange,
    creatorId: bigint,
    creatorRole: $Enums.MemberRole,
    otherIds: bigint[],
    field: string,
  ): Promise<RoomRow> {
    const users = await loadUsers(c.tx, [creatorId, ...otherIds]);
    requireKnown(otherIds, users, field);
    const seq = c.nextSeq();
    const entries = [
      { userId: creatorId, role: creatorRole },
      ...otherIds.map((userId) => ({ userId, role: "MEMBER" as const })),
    ];
    await admitMembers(c, seq, entries, new Set());
    c.emit(
      seq,
      creatorId,
      membersAdded(entries.map((e) => toMember(requireUser(users, e.userId), e.role, c.now))),
    );
    await systemMessage(c, seq, creatorId, {
      case: "roomCreated",
      value: create(RoomCreatedNoticeSchema, { name: c.room.name }),
    });
    return roomAfter(c, seq);
  }

  return {
    async createRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const name = req.name.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      const visibility = visibilityFromProto[req.visibility];
      if (!visibility) {
        throw invalidArgument([{ field: "visibility", description: "must be PUBLIC or PRIVATE" }]);
      }
      const memberIds = uniqueIds(req.memberIds).filter((id) => id !== me);
      const { result } = await writer.create(
        { kind: "CHANNEL", visibility, name, description: req.description.trim(), creatorId: me },
        (c) => firstChange(c, me, "OWNER", memberIds, "member_ids"),
      );
      return create(CreateRoomResponseSchema, { room: toRoom(result) });
    },

    async getRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const { room, membership } = await readableRoom(prisma, req.roomId, me);
      return create(GetRoomResponseSchema, {
        room: toRoom(room),
        myRole: membership ? roleToProto[membership.role] : MemberRole.UNSPECIFIED,
        lastReadSeq: membership?.lastReadSeq ?? 0n,
      });
    },

    async updateRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const name = req.name?.trim();
      if (name === "") throw invalidArgument([{ field: "name", description: "must not be blank" }]);
      const description = req.description?.trim();
      const room = await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be renamed or described");
        requireRole(m, "ADMIN", "update the room");
        const before = await roomAfter(c);
        const data: { name?: string; description?: string } = {};
        if (name !== undefined && name !== before.name) data.name = name;
        if (description !== undefined && description !== before.description) {
          data.description = description;
        }
        if (data.name === undefined && data.description === undefined) return before;
        const seq = c.nextSeq();
        await c.tx.room.update({ where: { id: c.room.id }, data: { ...data, updatedAt: c.now } });
        const after = await roomAfter(c, seq);
        c.emit(seq, me, roomUpdated(after));
        if (data.name !== undefined) {
          await systemMessage(c, seq, me, {
            case: "roomRenamed",
            value: create(RoomRenamedNoticeSchema, { oldName: before.name, newName: data.name }),
          });
        }
        return after;
      });
      return create(UpdateRoomResponseSchema, { room: toRoom(room) });
    },

    async archiveRoom(req, ctx) {
      const me = callerOf(ctx).userId;
      const room = await writer.change(req.roomId, async (c) => {
        // Archiving twice succeeds without a change, so the archived check
        // is left out here.
        const m = await actingMember(c, me, { allowArchived: true });
        rejectDirect(c.room, "be archived");
        requireRole(m, "OWNER", "archive the room");
        if (c.room.archivedAt) return roomAfter(c);
        const seq = c.nextSeq();
        await c.tx.room.update({
          where: { id: c.room.id },
          data: { archivedAt: c.now, updatedAt: c.now },
        });
        const after = await roomAfter(c, seq);
        c.emit(seq, me, roomUpdated(after));
        await systemMessage(c, seq, me, {
          case: "roomArchived",
          value: create(RoomArchivedNoticeSchema, {}),
        });
        return after;
      });
      return create(ArchiveRoomResponseSchema, { room: toRoom(room) });
    },

    async listPublicRooms(req, ctx) {
      const me = callerOf(ctx).userId;
      const after = decodeNameCursor(req.pageToken);
      const take = req.pageSize || publicPageSize;
      const query = req.query.trim();
      // The name column's collation is case-insensitive, so `contains` is
      // too. Prisma passes it to LIKE unescaped: escape `%`, `_` and `\`.
      const and: Prisma.RoomWhereInput[] = [
        { visibility: "PUBLIC", archivedAt: null },
        { memberships: { none: { userId: me, state: "BANNED" } } },
      ];
      if (query !== "") and.push({ name: { contains: escapeLike(query) } });
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
      const and: Prisma.RoomWhereInput[] = [
        { memberships: { some: { userId: me, state: "JOINED" } } },
      ];
      if (!req.includeArchived) and.push({ archivedAt: null });
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
      const nextPageToken =
        rows.length > take && last ? encodeTimeCursor(last.lastActivityAt, last.id) : "";
      if (page.length === 0) return create(ListMyRoomsResponseSchema, { rooms: [], nextPageToken });

      const roomIds = page.map((r) => r.id);
      const memberships = await prisma.membership.findMany({
        where: { userId: me, roomId: { in: roomIds }, state: "JOINED" },
        select: { roomId: true, role: true, lastReadSeq: true },
      });
      const mine = new Map(memberships.map((m) => [m.roomId, m]));
      const counts = await unreadCounts(
        prisma,
        me,
        memberships.map((m) => ({ roomId: m.roomId, lastReadSeq: m.lastReadSeq })),
      );

      const lastIds = page.flatMap((r) => (r.lastMessageId === null ? [] : [r.lastMessageId]));
      const lastRows =
        lastIds.length === 0
          ? []
          : await prisma.message.findMany({
              where: { id: { in: lastIds } },
              select: messageSelect,
            });
      const views = await viewMessages(prisma, lastRows, me);
      const lastMessages = new Map<bigint, Message>(views.map((v) => [v.id, v]));

      const directIds = page.filter((r) => r.kind !== "CHANNEL").map((r) => r.id);
      const peers = new Map<bigint, User[]>();
      if (directIds.length > 0) {
        const peerRows = await prisma.membership.findMany({
          where: { roomId: { in: directIds }, state: "JOINED", userId: { not: me } },
          orderBy: [{ joinedAt: "asc" }, { userId: "asc" }],
          select: { roomId: true, user: { select: userSelect } },
        });
        for (const p of peerRows) {
          const list = peers.get(p.roomId) ?? [];
          if (list.length < maxPeers) list.push(toUser(p.user));
          peers.set(p.roomId, list);
        }
      }

      return create(ListMyRoomsResponseSchema, {
        // A room left between the two reads is dropped rather than shown
        // without a role.
        rooms: page.flatMap((r) => {
          const m = mine.get(r.id);
          if (!m) return [];
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
        const toAdd = ids.filter((id) => !joined.has(id));
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
      return create(InviteMembersResponseSchema, { added });
    },

    async kickMember(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be moderated");
        requireRole(m, "ADMIN", "kick members");
        if (req.userId === me) {
          throw invalidArgument([
            { field: "user_id", description: "is you: use LeaveRoom to leave" },
          ]);
        }
        const target = await membershipOf(c.tx, c.room.id, req.userId);
        if (target?.state !== "JOINED") {
          throw new ConnectError("that user is not a member of this room", Code.NotFound);
        }
        requireOutranks(m, target, "kick");
        const seq = c.nextSeq();
        await dismissMember(c, req.userId, "KICKED");
        c.emit(seq, me, memberRemoved(req.userId, MemberRemoved_Reason.KICKED));
        await systemMessage(c, seq, me, {
          case: "memberRemoved",
          value: create(MemberRemovedNoticeSchema, { userId: req.userId, banned: false }),
        });
      });
      return create(KickMemberResponseSchema, {});
    },

    async banMember(req, ctx) {
      const me = callerOf(ctx).userId;
      await writer.change(req.roomId, async (c) => {
        const m = await actingMember(c, me);
        rejectDirect(c.room, "be moderated");
        requireRole(m, "ADMIN", "ban users");
        if (req.userId === me) {
          throw invalidArgument([
            { field: "user_id", description: "is you: you cannot ban yourself" },
          ]);
        }
        const exists = await c.tx.user.findUnique({
          where: { id: req.userId },
          select: { id: true },
        });
        if (!exists) throw new ConnectError("user not found", Code.NotFound);
        const target = await membershipOf(c.tx, c.room.id, req.userId);
        if (target?.state === "BANNED") return; // already banned: no change
        const wasMember = target?.state === "JOINED";
        if (target && wasMember) requireOutranks(m, target, "ban");
        const seq = c.nextSeq();
        if (wasMember) {
          await dismissMember(c, req.userId, "BANNED");
        } else {
          // Bans work on non-members too: the row remembers the ban.
          await c.tx.membership.upsert({
            where: { roomId_userId: { roomId: c.room.id, userId: req.userId } },
            create: {
              roomId: c.room.id,
              userId: req.userId,
              state: "BANNED",
              joinedAt: c.now,
              updatedAt: c.now,
            },
            update: { state: "BANNED", updatedAt: c.now },
          });
        }
        c.emit(seq, me, memberRemoved(req.userId, MemberRemoved_Reason.BANNED));
        // History shows the removal of members only; banning an outsider is
        // recorded by its event alone.
        if (wasMember) {
          await systemMessage(c, seq, me, {
            case: "memberRemoved",
            value: create(MemberRemovedNoticeSchema, { userId: req.userId, banned: true }),
          });
        }
      });
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

    async listMembers(req, ctx) {
      const me = callerOf(ctx).userId;
      const after = decodeTimeCursor(req.pageToken);
      const take = req.pageSize || membersPageSize;
      const { room } = await readableRoom(prisma, req.roomId, me);
      const where: Prisma.MembershipWhereInput = { roomId: room.id, state: "JOINED" };
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
        select: { userId: true, role: true, joinedAt: true, user: { select: userSelect } },
      });
      const page = rows.slice(0, take);
      const last = page.at(-1);
      return create(ListMembersResponseSchema, {
        members: page.map((r) => toMember(r.user, r.role, r.joinedAt)),
        nextPageToken:
          rows.length > take && last ? encodeTimeCursor(last.joinedAt, last.userId) : "",
      });
    },

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
            (c) => firstChange(c, me, "MEMBER", [other.id], "user_id"),
          );
          return create(OpenDirectResponseSchema, { room: toRoom(result), created: true });
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
      const { result } = await writer.create(
        { kind: "GROUP_DIRECT", visibility: "PRIVATE", name: "", creatorId: me },
        (c) => firstChange(c, me, "OWNER", uniqueIds(req.userIds), "user_ids"),
      );
      return create(CreateGroupDirectResponseSchema, { room: toRoom(result) });
    },
  };
}

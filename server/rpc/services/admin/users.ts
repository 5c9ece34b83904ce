/** AdminService: list and search accounts, disable, enable, log out. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  DisableUserResponseSchema,
  EnableUserResponseSchema,
  ListUsersResponseSchema,
  LogoutUserResponseSchema,
  type UserInfo,
  UserInfoSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { toUser, userSelect } from "../../../domain/user-view.js";
import { type AdminDeps, pageSize } from "./shared.js";

const infoSelect = { ...userSelect, disabledAt: true, lastSeenAt: true } as const;

/** listUsers, disableUser, enableUser, logoutUser. */
export function adminUserMethods({
  prisma,
  tokens,
  presence,
  clock,
}: AdminDeps): Pick<
  ServiceImpl<typeof AdminService>,
  "listUsers" | "disableUser" | "enableUser" | "logoutUser"
> {
  async function infos(ids: bigint[]): Promise<UserInfo[]> {
    if (ids.length === 0) return [];
    const now = clock.now();
    const [rows, sessions, online] = await Promise.all([
      prisma.user.findMany({ where: { id: { in: ids } }, select: infoSelect }),
      prisma.session.groupBy({
        by: ["userId"],
        where: { userId: { in: ids }, revokedAt: null, expiresAt: { gt: now } },
        _count: { _all: true },
      }),
      presence.whoIsOnline(ids).catch(() => [] as bigint[]),
    ]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const sessionCount = new Map(sessions.map((s) => [s.userId, s._count._all]));
    const onlineSet = new Set(online);
    return ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return [];
      return [
        create(UserInfoSchema, {
          user: toUser(r),
          disabled: r.disabledAt !== null,
          online: onlineSet.has(id),
          sessionCount: sessionCount.get(id) ?? 0,
          lastSeenTime: r.lastSeenAt ? timestampFromDate(r.lastSeenAt) : undefined,
        }),
      ];
    });
  }

  async function info(userId: bigint): Promise<UserInfo> {
    const [found] = await infos([userId]);
    if (!found) throw new ConnectError(`user ${userId} not found`, Code.NotFound);
    return found;
  }

  async function requireUser(userId: bigint): Promise<void> {
    const row = await prisma.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!row) throw new ConnectError(`user ${userId} not found`, Code.NotFound);
  }

  return {
    async listUsers(req) {
      const limit = pageSize(req.pageSize, 50, 200);
      const q = req.query.trim();
      const rows = await prisma.user.findMany({
        where: {
          ...(req.beforeId > 0n ? { id: { lt: req.beforeId } } : {}),
          ...(q
            ? {
                OR: [
                  { usernameKey: { startsWith: q.toLowerCase() } },
                  { displayName: { startsWith: q } },
                ],
              }
            : {}),
        },
        orderBy: { id: "desc" },
        take: limit + 1,
        select: { id: true },
      });
      const page = rows.slice(0, limit).map((r) => r.id);
      return create(ListUsersResponseSchema, {
        users: await infos(page),
        nextBeforeId: rows.length > limit ? (page[page.length - 1] ?? 0n) : 0n,
      });
    },

    async disableUser(req) {
      await requireUser(req.userId);
      // Disabled first: a login racing with this call fails its token check
      // (tokens.ts refuses sessions of disabled users), so no session outlives it.
      await prisma.user.updateMany({
        where: { id: req.userId, disabledAt: null },
        data: { disabledAt: clock.now() },
      });
      const revoked = await tokens.revokeAll(req.userId);
      return create(DisableUserResponseSchema, {
        user: await info(req.userId),
        revokedSessions: revoked,
      });
    },

    async enableUser(req) {
      await requireUser(req.userId);
      await prisma.user.update({ where: { id: req.userId }, data: { disabledAt: null } });
      return create(EnableUserResponseSchema, { user: await info(req.userId) });
    },

    async logoutUser(req) {
      await requireUser(req.userId);
      const revoked = await tokens.revokeAll(req.userId);
      return create(LogoutUserResponseSchema, { revokedSessions: revoked });
    },
  };
}

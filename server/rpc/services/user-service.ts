/** chat.v1.UserService: profiles and user search. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  GetMeResponseSchema,
  GetUserResponseSchema,
  SearchUsersResponseSchema,
  UpdateProfileResponseSchema,
  type UserService,
} from "../../../gen/chat/v1/user_pb.js";
import { avatarUrlProblem } from "../../domain/avatar-url.js";
import type { RateLimits } from "../../domain/limits/rate-limits.js";
import { decodePageToken, encodePageToken } from "../../domain/pagination.js";
import { toUser, userSelect } from "../../domain/user-view.js";
import { nameProblem } from "../../domain/visible-text.js";
import { invalidArgument } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Dependencies of the user service. */
export interface UserServiceDeps {
  prisma: PrismaClient;
  /** Hosts avatar URLs may point at (see avatar-url.ts); none: no avatar URL is accepted. */
  avatarHosts?: readonly string[];
  /** User searches per user (domain/limits/). */
  limits: RateLimits;
}

const defaultPageSize = 20;

/** Creates the UserService implementation. */
export function createUserService({
  prisma,
  avatarHosts = [],
  limits,
}: UserServiceDeps): ServiceImpl<typeof UserService> {
  const notFound = () => new ConnectError("user not found", Code.NotFound);

  return {
    async getMe(_req, ctx) {
      const user = await prisma.user.findUnique({
        where: { id: callerOf(ctx).userId },
        select: userSelect,
      });
      // The token outlived its account: treat it like any invalid token.
      if (!user) throw new ConnectError("account no longer exists", Code.Unauthenticated);
      return create(GetMeResponseSchema, { user: toUser(user) });
    },

    async getUser(req) {
      const where =
        req.lookup.case === "id"
          ? { id: req.lookup.value }
          : { usernameKey: (req.lookup.value ?? "").toLowerCase() };
      const user = await prisma.user.findUnique({ where, select: userSelect });
      if (!user) throw notFound();
      return create(GetUserResponseSchema, { user: toUser(user) });
    },

    async updateProfile(req, ctx) {
      const data: { displayName?: string; avatarUrl?: string } = {};
      if (req.displayName !== undefined) {
        data.displayName = req.displayName.trim();
        const bad = nameProblem(data.displayName, "display_name");
        if (bad) throw invalidArgument([bad]);
      }
      if (req.avatarUrl !== undefined) {
        const url = req.avatarUrl.trim();
        const problem = url === "" ? undefined : avatarUrlProblem(url, avatarHosts);
        if (problem) throw invalidArgument([{ field: "avatar_url", description: problem }]);
        data.avatarUrl = url;
      }
      const id = callerOf(ctx).userId;
      const user =
        Object.keys(data).length === 0
          ? await prisma.user.findUnique({ where: { id }, select: userSelect })
          : await prisma.user.update({ where: { id }, data, select: userSelect });
      if (!user) throw new ConnectError("account no longer exists", Code.Unauthenticated);
      return create(UpdateProfileResponseSchema, { user: toUser(user) });
    },

    async searchUsers(req, ctx) {
      const prefix = req.prefix.trim();
      if (prefix === "") {
        throw invalidArgument([{ field: "prefix", description: "must not be blank" }]);
      }
      const me = callerOf(ctx).userId;
      await limits.check("userSearches", me);
      const after = decodePageToken(req.pageToken);
      const take = req.pageSize || defaultPageSize;
      // display_name uses a case-insensitive collation; username_key is
      // stored lower-cased. Prisma passes startsWith to LIKE unescaped, so
      // `_` and `%` (legal in usernames) are escaped here.
      const like = escapeLike(prefix);
      // Who a search may find (docs/limits.md, "Privacy"): people who share
      // a room with the caller, by username or display name prefix, and
      // anyone by their exact username (to start a conversation with
      // someone whose name one was told). Nobody can list every account.
      const rows = await prisma.user.findMany({
        where: {
          AND: [
            {
              OR: [
                { usernameKey: { startsWith: like.toLowerCase() } },
                { displayName: { startsWith: like } },
              ],
            },
            {
              OR: [
                { usernameKey: prefix.toLowerCase() },
                {
                  memberships: {
                    some: {
                      state: "JOINED",
                      room: { memberships: { some: { userId: me, state: "JOINED" } } },
                    },
                  },
                },
              ],
            },
          ],
          ...(after === undefined ? {} : { usernameKey: { gt: after } }),
        },
        orderBy: { usernameKey: "asc" },
        take: take + 1,
        select: { ...userSelect, usernameKey: true },
      });
      const page = rows.slice(0, take);
      const last = page.at(-1);
      return create(SearchUsersResponseSchema, {
        users: page.map(toUser),
        nextPageToken: rows.length > take && last ? encodePageToken(last.usernameKey) : "",
      });
    },
  };
}

/** Escapes LIKE wildcards with MySQL's default escape character. */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

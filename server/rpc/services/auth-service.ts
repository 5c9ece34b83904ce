/**
 * chat.v1.AuthService: registration, login and logout. Input shape is
 * already checked by the validation interceptor; rules that need the
 * database (unique usernames) are checked here.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  type AuthService,
  LoginResponseSchema,
  LogoutAllResponseSchema,
  LogoutResponseSchema,
  RegisterResponseSchema,
} from "../../../gen/chat/v1/auth_pb.js";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { hashPassword, verifyPassword } from "../../domain/auth/passwords.js";
import type { TokenService } from "../../domain/auth/tokens.js";
import { toUser, userSelect } from "../../domain/user-view.js";
import { chatError } from "../../platform/errors.js";
import { isUniqueViolation } from "../../store/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Dependencies of the auth service. */
export interface AuthServiceDeps {
  prisma: PrismaClient;
  tokens: TokenService;
}

const usernameTaken = (username: string) =>
  chatError(
    Code.AlreadyExists,
    `username "${username}" is already taken`,
    ErrorReason.USERNAME_TAKEN,
    {
      username,
    },
  );

/** Creates the AuthService implementation. */
export function createAuthService({
  prisma,
  tokens,
}: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  return {
    async register(req) {
      const usernameKey = req.username.toLowerCase();
      // Checked before hashing so a taken name costs no argon2 time; the
      // unique index still decides when two registrations race.
      const existing = await prisma.user.findUnique({
        where: { usernameKey },
        select: { id: true },
      });
      if (existing) throw usernameTaken(req.username);
      const passwordHash = await hashPassword(req.password);
      try {
        const user = await prisma.user.create({
          data: {
            username: req.username,
            usernameKey,
            displayName: req.displayName.trim(),
            passwordHash,
          },
          select: userSelect,
        });
        return create(RegisterResponseSchema, { user: toUser(user) });
      } catch (err) {
        if (isUniqueViolation(err)) throw usernameTaken(req.username);
        throw err;
      }
    },

    async login(req) {
      const user = await prisma.user.findUnique({
        where: { usernameKey: req.username.toLowerCase() },
        select: { ...userSelect, passwordHash: true, disabledAt: true },
      });
      // Same error, and about the same time, for unknown user and wrong
      // password: the response must not tell which usernames exist.
      if (!(await verifyPassword(user?.passwordHash, req.password)) || !user) {
        throw chatError(
          Code.Unauthenticated,
          "wrong username or password",
          ErrorReason.BAD_CREDENTIALS,
        );
      }
      // Told only to whoever knows the password.
      if (user.disabledAt) {
        throw chatError(
          Code.PermissionDenied,
          "this account was disabled by an operator",
          ErrorReason.ACCOUNT_DISABLED,
        );
      }
      const issued = await tokens.issue(user.id, req.deviceName.trim());
      return create(LoginResponseSchema, {
        accessToken: issued.token,
        expireTime: timestampFromDate(issued.expiresAt),
        user: toUser(user),
      });
    },

    async logout(_req, ctx) {
      await tokens.revoke(callerOf(ctx).sessionId);
      return create(LogoutResponseSchema);
    },

    async logoutAll(_req, ctx) {
      const revoked = await tokens.revokeAll(callerOf(ctx).userId);
      return create(LogoutAllResponseSchema, { revokedSessions: revoked });
    },
  };
}

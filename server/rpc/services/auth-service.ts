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
import { passwordProblem } from "../../domain/auth/password-policy.js";
import { hashPassword, verifyPassword } from "../../domain/auth/passwords.js";
import type { TokenService } from "../../domain/auth/tokens.js";
import type { LoginGuard } from "../../domain/limits/login-guard.js";
import type { RateLimits } from "../../domain/limits/rate-limits.js";
import { toUser, userSelect } from "../../domain/user-view.js";
import { nameProblem } from "../../domain/visible-text.js";
import { chatError, invalidArgument } from "../../platform/errors.js";
import { isUniqueViolation } from "../../store/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf, clientAddressOf } from "../context.js";

/** Dependencies of the auth service. */
export interface AuthServiceDeps {
  prisma: PrismaClient;
  tokens: TokenService;
  limits: RateLimits;
  loginGuard: LoginGuard;
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
  limits,
  loginGuard,
}: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  return {
    async register(req, ctx) {
      const usernameKey = req.username.toLowerCase();
      const bad = [
        passwordProblem(req.password, req.username, limits.config.passwordMinLength),
        nameProblem(req.displayName.trim(), "display_name"),
      ].filter((v) => v !== undefined);
      if (bad.length > 0) throw invalidArgument(bad);
      // Counted per address before anything is looked up or hashed.
      await limits.check("registrations", clientAddressOf(ctx));
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

    async login(req, ctx) {
      const account = req.username.toLowerCase();
      const address = clientAddressOf(ctx);
      // A locked-out attempt is refused before argon2 spends its time on it.
      const attempt = await loginGuard.begin(account, address);
      const user = await prisma.user.findUnique({
        where: { usernameKey: req.username.toLowerCase() },
        select: { ...userSelect, passwordHash: true, disabledAt: true },
      });
      // Same error, and about the same time, for unknown user and wrong
      // password: the response must not tell which usernames exist.
      if (!(await verifyPassword(user?.passwordHash, req.password)) || !user) {
        await attempt.failed();
        throw chatError(
          Code.Unauthenticated,
          "wrong username or password",
          ErrorReason.BAD_CREDENTIALS,
        );
      }
      await attempt.succeeded();
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

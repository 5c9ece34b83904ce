/**
 * AdminService: bot accounts. A bot is an account marked `bot`, created by
 * an operator, with no usable password (a random one, hashed and
 * forgotten) and long-lived access tokens that the operator rotates.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  CreateBotResponseSchema,
  RotateBotTokenResponseSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { ErrorReason } from "../../../../gen/chat/v1/errors_pb.js";
import { hashPassword } from "../../../domain/auth/passwords.js";
import { toUser, userSelect } from "../../../domain/user-view.js";
import { chatError } from "../../../platform/errors.js";
import { isUniqueViolation } from "../../../store/errors.js";
import type { AdminDeps } from "./shared.js";

/** Lifetime of a bot's token: ten years (rotated, not expired, in practice). */
export const botTokenTtlSeconds = 10 * 365 * 24 * 3600;

function taken(username: string): ConnectError {
  return chatError(
    Code.AlreadyExists,
    `username '${username}' is taken`,
    ErrorReason.USERNAME_TAKEN,
  );
}

/** createBot, rotateBotToken. */
export function adminBotMethods({
  prisma,
  tokens,
}: AdminDeps): Pick<ServiceImpl<typeof AdminService>, "createBot" | "rotateBotToken"> {
  return {
    async createBot(req) {
      const usernameKey = req.username.toLowerCase();
      if (await prisma.user.findUnique({ where: { usernameKey }, select: { id: true } })) {
        throw taken(req.username);
      }
      const passwordHash = await hashPassword(randomBytes(32).toString("base64url"));
      const user = await prisma.user
        .create({
          data: {
            username: req.username,
            usernameKey,
            displayName: req.displayName.trim(),
            passwordHash,
            bot: true,
          },
          select: userSelect,
        })
        .catch((err: unknown) => {
          // Two creations racing for the name: the unique index decides.
          throw isUniqueViolation(err) ? taken(req.username) : err;
        });
      const issued = await tokens.issue(user.id, "bot", botTokenTtlSeconds);
      return create(CreateBotResponseSchema, {
        user: toUser(user),
        accessToken: issued.token,
        expireTime: timestampFromDate(issued.expiresAt),
      });
    },

    async rotateBotToken(req) {
      const user = await prisma.user.findUnique({
        where: { id: req.userId },
        select: { bot: true },
      });
      if (!user?.bot) throw new ConnectError(`bot ${req.userId} not found`, Code.NotFound);
      const revoked = await tokens.revokeAll(req.userId);
      const issued = await tokens.issue(req.userId, "bot", botTokenTtlSeconds);
      return create(RotateBotTokenResponseSchema, {
        accessToken: issued.token,
        expireTime: timestampFromDate(issued.expiresAt),
        revokedTokens: revoked,
      });
    },
  };
}

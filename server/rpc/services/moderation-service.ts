/**
 * chat.v1.ModerationService: mutes (domain/moderation/mute.ts), blocks
 * (blocks.ts) and reports (reports.ts).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  BlockedUserSchema,
  BlockUserResponseSchema,
  ListBlockedUsersResponseSchema,
  ListReportsResponseSchema,
  type ModerationService,
  MuteMemberResponseSchema,
  ReportMessageResponseSchema,
  ReportUserResponseSchema,
  ResolveReportResponseSchema,
  UnblockUserResponseSchema,
  UnmuteMemberResponseSchema,
} from "../../../gen/chat/v1/moderation_pb.js";
import type { RateLimits } from "../../domain/limits/rate-limits.js";
import { blockUser, listBlocked, unblockUser } from "../../domain/moderation/blocks.js";
import { setMute } from "../../domain/moderation/mute.js";
import {
  checkResolution,
  Reports,
  resolveReport,
  toReport,
} from "../../domain/moderation/reports.js";
import type { RoomWriter } from "../../domain/room-writer.js";
import { toUser, userSelect } from "../../domain/user-view.js";
import type { Clock } from "../../platform/clock.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Dependencies of the moderation service. */
export interface ModerationServiceDeps {
  prisma: PrismaClient;
  writer: RoomWriter;
  limits: RateLimits;
  clock: Clock;
}

/** Creates the ModerationService implementation. */
export function createModerationService({
  prisma,
  writer,
  limits,
  clock,
}: ModerationServiceDeps): ServiceImpl<typeof ModerationService> {
  const reports = new Reports(prisma, limits);
  return {
    async muteMember(req, ctx) {
      const me = callerOf(ctx).userId;
      const r = await writer.change(req.roomId, (c) =>
        setMute(c, me, req.userId, req.durationSeconds),
      );
      return create(MuteMemberResponseSchema, {
        seq: r.seq,
        until: r.until ? timestampFromDate(r.until) : undefined,
      });
    },
    async unmuteMember(req, ctx) {
      const me = callerOf(ctx).userId;
      const r = await writer.change(req.roomId, (c) => setMute(c, me, req.userId, null));
      return create(UnmuteMemberResponseSchema, { seq: r.seq });
    },
    async blockUser(req, ctx) {
      await blockUser(prisma, callerOf(ctx).userId, req.userId, clock.now());
      return create(BlockUserResponseSchema, {});
    },
    async unblockUser(req, ctx) {
      await unblockUser(prisma, callerOf(ctx).userId, req.userId);
      return create(UnblockUserResponseSchema, {});
    },
    async listBlockedUsers(_req, ctx) {
      const rows = await listBlocked(prisma, callerOf(ctx).userId);
      return create(ListBlockedUsersResponseSchema, {
        blocked: rows.map((r) =>
          create(BlockedUserSchema, {
            user: toUser(r.user),
            createTime: timestampFromDate(r.createdAt),
          }),
        ),
      });
    },
    async reportMessage(req, ctx) {
      const row = await reports.reportMessage(
        callerOf(ctx).userId,
        req.roomId,
        req.messageId,
        req,
        clock.now(),
      );
      return create(ReportMessageResponseSchema, { report: toReport(row) });
    },
    async reportUser(req, ctx) {
      const row = await reports.reportUser(
        callerOf(ctx).userId,
        req.roomId,
        req.userId,
        req,
        clock.now(),
      );
      return create(ReportUserResponseSchema, { report: toReport(row) });
    },
    async listReports(req, ctx) {
      const page = await reports.list(
        callerOf(ctx).userId,
        req.roomId,
        req.state,
        req.pageSize,
        req.pageToken,
      );
      const ids = new Set<bigint>();
      for (const r of page.reports) {
        ids.add(r.reporterId);
        ids.add(r.userId);
        if (r.resolvedById !== null) ids.add(r.resolvedById);
      }
      const users =
        ids.size === 0
          ? []
          : await prisma.user.findMany({ where: { id: { in: [...ids] } }, select: userSelect });
      return create(ListReportsResponseSchema, {
        reports: page.reports.map(toReport),
        nextPageToken: page.nextPageToken,
        users: users.map(toUser),
      });
    },
    async resolveReport(req, ctx) {
      const me = callerOf(ctx).userId;
      const resolution = checkResolution(req.action, req.muteSeconds);
      const roomId = await reports.roomOf(req.reportId);
      const r = await writer.change(roomId, (c) => resolveReport(c, me, req.reportId, resolution));
      return create(ResolveReportResponseSchema, { report: toReport(r.report), seq: r.seq });
    },
  };
}

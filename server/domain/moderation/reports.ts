/**
 * Reports of messages and users to a room's owners and admins (docs/limits.md,
 * "Reports"). A member reports what they can read; the room's moderators
 * list the queue and resolve each report with an action taken through the
 * same code as the RPCs that do it (removals.ts, mute.ts), in the same
 * transaction as the report's update, so the action is a room event with
 * the moderator as its actor and the report records who, when and what.
 *
 * Reports themselves are not room events: members never see who reported
 * what. Moderators see the reporter (to judge abuse of reporting).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Report,
  ReportAction,
  ReportReason,
  ReportSchema,
  ReportState,
} from "../../../gen/chat/v1/moderation_pb.js";
import { invalidArgument } from "../../platform/errors.js";
import { isUniqueViolation } from "../../store/errors.js";
import type { $Enums, PrismaClient } from "../../store/prisma.js";
import { membershipOf, requireRole, roomNotFound } from "../access.js";
import type { RateLimits } from "../limits/rate-limits.js";
import { messageSelect } from "../message-view.js";
import { decodePageToken, encodePageToken } from "../pagination.js";
import type { RoomChange, Tx } from "../room-change.js";
import { failedPrecondition } from "../room-rules.js";
import { setMute } from "./mute.js";
import { banMember, deleteMessage, kickMember } from "./removals.js";

/** Longest free text of a report, in characters (as the contract's bound). */
export const maxReportTextChars = 1000;
/** ListReports page size when the request gives none. */
export const defaultReportPageSize = 50;

const reportSelect = {
  id: true,
  roomId: true,
  reporterId: true,
  messageId: true,
  messageSeq: true,
  userId: true,
  reason: true,
  text: true,
  messageText: true,
  state: true,
  createdAt: true,
  resolvedById: true,
  resolvedAt: true,
  action: true,
  muteSeconds: true,
} as const;

/** A report row as the views need it. */
export interface ReportRow {
  id: bigint;
  roomId: bigint;
  reporterId: bigint;
  messageId: bigint | null;
  messageSeq: bigint | null;
  userId: bigint;
  reason: $Enums.ReportReason;
  text: string;
  messageText: string;
  state: $Enums.ReportState;
  createdAt: Date;
  resolvedById: bigint | null;
  resolvedAt: Date | null;
  action: $Enums.ReportAction | null;
  muteSeconds: number | null;
}

const reasons: Record<$Enums.ReportReason, ReportReason> = {
  SPAM: ReportReason.SPAM,
  HARASSMENT: ReportReason.HARASSMENT,
  HATE: ReportReason.HATE,
  SEXUAL: ReportReason.SEXUAL,
  VIOLENCE: ReportReason.VIOLENCE,
  OTHER: ReportReason.OTHER,
};
const actions: Record<$Enums.ReportAction, ReportAction> = {
  DISMISS: ReportAction.DISMISS,
  DELETE_MESSAGE: ReportAction.DELETE_MESSAGE,
  MUTE: ReportAction.MUTE,
  KICK: ReportAction.KICK,
  BAN: ReportAction.BAN,
};

function fromProto<T extends string>(table: Record<T, number>, v: number, field: string): T {
  const name = (Object.keys(table) as T[]).find((k) => table[k] === v);
  if (!name) throw invalidArgument([{ field, description: "must be a defined value" }]);
  return name;
}

/** The contract's view of a report row. */
export function toReport(r: ReportRow): Report {
  return create(ReportSchema, {
    id: r.id,
    roomId: r.roomId,
    reporterId: r.reporterId,
    messageId: r.messageId ?? 0n,
    messageSeq: r.messageSeq ?? 0n,
    userId: r.userId,
    reason: reasons[r.reason],
    text: r.text,
    messageText: r.messageText,
    state: r.state === "OPEN" ? ReportState.OPEN : ReportState.RESOLVED,
    createTime: timestampFromDate(r.createdAt),
    resolvedBy: r.resolvedById ?? 0n,
    resolveTime: r.resolvedAt ? timestampFromDate(r.resolvedAt) : undefined,
    action: r.action ? actions[r.action] : ReportAction.UNSPECIFIED,
    muteSeconds: r.muteSeconds ?? 0,
  });
}

/** What a reporter says. */
export interface ReportInput {
  reason: ReportReason;
  text: string;
}

/** Checks the reason and text (INVALID_ARGUMENT before anything is read). */
function checkInput(input: ReportInput): { reason: $Enums.ReportReason; text: string } {
  const reason = fromProto(reasons, input.reason, "reason");
  const text = input.text.trim();
  if (text.includes("\u0000") || /\p{Cs}/u.test(text)) {
    throw invalidArgument([{ field: "text", description: "must be valid UTF-8 without NUL" }]);
  }
  if ([...text].length > maxReportTextChars) {
    throw invalidArgument([
      { field: "text", description: `must be at most ${maxReportTextChars} characters` },
    ]);
  }
  return { reason, text };
}

/** The reporter must be a member of the room (anyone else: NOT_FOUND), not a direct one. */
async function requireReporter(prisma: PrismaClient, roomId: bigint, userId: bigint) {
  const [room, m] = await Promise.all([
    prisma.room.findUnique({ where: { id: roomId }, select: { kind: true } }),
    membershipOf(prisma, roomId, userId),
  ]);
  if (!room || m?.state !== "JOINED") throw roomNotFound();
  if (room.kind === "DIRECT") {
    throw failedPrecondition(
      "a direct conversation has no moderators: block the user instead (BlockUser)",
    );
  }
}

/** Reports, rate limited and idempotent while open. */
export class Reports {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly limits: RateLimits,
  ) {}

  /** Reports a message of the room (the reporter's open report of it, if any). */
  async reportMessage(
    reporterId: bigint,
    roomId: bigint,
    messageId: bigint,
    input: ReportInput,
    now: Date,
  ): Promise<ReportRow> {
    const { reason, text } = checkInput(input);
    await requireReporter(this.prisma, roomId, reporterId);
    const msg = await this.prisma.message.findUnique({
      where: { id: messageId },
      select: { roomId: true, seq: true, senderId: true, kind: true, text: true, deletedAt: true },
    });
    if (!msg || msg.roomId !== roomId) throw new ConnectError("message not found", Code.NotFound);
    if (msg.senderId === reporterId) {
      throw invalidArgument([{ field: "message_id", description: "is your own message" }]);
    }
    if (msg.kind === "SYSTEM" || msg.senderId === null) {
      throw failedPrecondition("system messages cannot be reported");
    }
    if (msg.deletedAt) throw failedPrecondition("the message was deleted");
    return this.open(reporterId, `m:${messageId}`, now, {
      roomId,
      reporterId,
      messageId,
      messageSeq: msg.seq,
      userId: msg.senderId,
      reason,
      text,
      messageText: msg.text,
    });
  }

  /** Reports a member or former member of the room. */
  async reportUser(
    reporterId: bigint,
    roomId: bigint,
    userId: bigint,
    input: ReportInput,
    now: Date,
  ): Promise<ReportRow> {
    const { reason, text } = checkInput(input);
    if (userId === reporterId) {
      throw invalidArgument([{ field: "user_id", description: "is you" }]);
    }
    await requireReporter(this.prisma, roomId, reporterId);
    // Anyone who ever had a membership row here (joined, left, kicked, banned).
    if (!(await membershipOf(this.prisma, roomId, userId))) {
      throw new ConnectError("user not found in this room", Code.NotFound);
    }
    return this.open(reporterId, `u:${roomId}:${userId}`, now, {
      roomId,
      reporterId,
      messageId: null,
      messageSeq: null,
      userId,
      reason,
      text,
      messageText: "",
    });
  }

  /**
   * The open report of `key` by the reporter, or a new one. Only a new one
   * costs a point of RATE_REPORTS; the unique (reporter, open key) settles
   * two concurrent reports of the same thing.
   */
  private async open(
    reporterId: bigint,
    openKey: string,
    now: Date,
    data: Omit<
      ReportRow,
      "id" | "state" | "createdAt" | "resolvedById" | "resolvedAt" | "action" | "muteSeconds"
    >,
  ): Promise<ReportRow> {
    const existing = () =>
      this.prisma.report.findUnique({
        where: { reporterId_openKey: { reporterId, openKey } },
        select: reportSelect,
      });
    const before = await existing();
    if (before) return before;
    await this.limits.check("reports", reporterId);
    try {
      return await this.prisma.report.create({
        data: { ...data, openKey, createdAt: now },
        select: reportSelect,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const raced = await existing();
      if (!raced) throw err;
      return raced;
    }
  }

  /**
   * A page of the room's reports, newest first, for its owners and admins
   * (members: PERMISSION_DENIED; anyone else: NOT_FOUND).
   */
  async list(
    moderatorId: bigint,
    roomId: bigint,
    state: ReportState,
    pageSize: number,
    pageToken: string,
  ): Promise<{ reports: ReportRow[]; nextPageToken: string }> {
    const stateName =
      state === ReportState.UNSPECIFIED
        ? undefined
        : fromProto({ OPEN: ReportState.OPEN, RESOLVED: ReportState.RESOLVED }, state, "state");
    const before = decodeReportCursor(pageToken);
    const m = await membershipOf(this.prisma, roomId, moderatorId);
    if (m?.state !== "JOINED") throw roomNotFound();
    requireRole(m, "ADMIN", "see reports");
    const take = pageSize || defaultReportPageSize;
    const rows = await this.prisma.report.findMany({
      where: {
        roomId,
        ...(stateName ? { state: stateName } : {}),
        ...(before ? { id: { lt: before } } : {}),
      },
      orderBy: { id: "desc" },
      take: take + 1,
      select: reportSelect,
    });
    const page = rows.slice(0, take);
    const last = page.at(-1);
    return {
      reports: page,
      nextPageToken: rows.length > take && last ? encodePageToken(`r:${last.id}`) : "",
    };
  }

  /** The room of a report, before taking the room's lock (NOT_FOUND if none). */
  async roomOf(reportId: bigint): Promise<bigint> {
    const row = await this.prisma.report.findUnique({
      where: { id: reportId },
      select: { roomId: true },
    });
    if (!row) throw reportNotFound();
    return row.roomId;
  }
}

function reportNotFound(): ConnectError {
  return new ConnectError("report not found", Code.NotFound);
}

function decodeReportCursor(token: string): bigint | undefined {
  const text = decodePageToken(token);
  if (text === undefined) return undefined;
  const m = /^r:(\d{1,20})$/.exec(text);
  if (!m?.[1]) {
    throw invalidArgument([
      { field: "page_token", description: "is not a page token returned by this API" },
    ]);
  }
  return BigInt(m[1]);
}

/** Checks a resolution's request alone (INVALID_ARGUMENT before anything is read). */
export function checkResolution(
  action: ReportAction,
  muteSeconds: number,
): { action: $Enums.ReportAction; muteSeconds: number | null } {
  const name = fromProto(actions, action, "action");
  if (name === "MUTE" && muteSeconds < 1) {
    throw invalidArgument([
      { field: "mute_seconds", description: "must be 1 s to 30 days to mute" },
    ]);
  }
  if (name !== "MUTE" && muteSeconds !== 0) {
    throw invalidArgument([{ field: "mute_seconds", description: "must be 0 unless muting" }]);
  }
  return { action: name, muteSeconds: name === "MUTE" ? muteSeconds : null };
}

/**
 * Resolves report `reportId` in the room change `c` as `moderatorId`: the
 * action first (its own rules may refuse it, and then nothing changes),
 * then the report. Returns the report and the action's event seq (0: none).
 */
export async function resolveReport(
  c: RoomChange,
  moderatorId: bigint,
  reportId: bigint,
  resolution: { action: $Enums.ReportAction; muteSeconds: number | null },
): Promise<{ report: ReportRow; seq: bigint }> {
  const m = await membershipOf(c.tx, c.room.id, moderatorId);
  if (m?.state !== "JOINED") throw reportNotFound();
  requireRole(m, "ADMIN", "resolve reports");
  const report = await c.tx.report.findUnique({ where: { id: reportId }, select: reportSelect });
  if (!report || report.roomId !== c.room.id) throw reportNotFound();
  if (report.state !== "OPEN") {
    throw failedPrecondition("the report was resolved already");
  }
  const seq = await act(c, moderatorId, m.role, report, resolution);
  const updated = await c.tx.report.update({
    where: { id: report.id },
    data: {
      state: "RESOLVED",
      openKey: null,
      resolvedById: moderatorId,
      resolvedAt: c.now,
      action: resolution.action,
      muteSeconds: resolution.muteSeconds,
    },
    select: reportSelect,
  });
  return { report: updated, seq };
}

async function act(
  c: RoomChange,
  moderatorId: bigint,
  role: $Enums.MemberRole,
  report: ReportRow,
  resolution: { action: $Enums.ReportAction; muteSeconds: number | null },
): Promise<bigint> {
  switch (resolution.action) {
    case "DISMISS":
      return 0n;
    case "DELETE_MESSAGE": {
      if (report.messageId === null) {
        throw invalidArgument([
          { field: "action", description: "DELETE_MESSAGE needs a report of a message" },
        ]);
      }
      const row = await messageRow(c.tx, report.messageId);
      if (!row) return 0n; // gone with its room's history: nothing left to delete
      return (await deleteMessage(c, moderatorId, row, role)).seq;
    }
    case "MUTE":
      return (await setMute(c, moderatorId, report.userId, resolution.muteSeconds)).seq;
    case "KICK":
      return kickMember(c, moderatorId, report.userId);
    case "BAN":
      return banMember(c, moderatorId, report.userId);
  }
}

function messageRow(tx: Tx, id: bigint) {
  return tx.message.findUnique({ where: { id }, select: messageSelect });
}

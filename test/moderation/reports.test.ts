/**
 * Reports: a member reports a message or a user of their room; the room's
 * owners and admins list the queue and resolve each report with an action
 * taken through the same code as DeleteMessage, MuteMember, KickMember and
 * BanMember, so each is a room event with the moderator as actor, and the
 * report keeps who resolved it, when and how. Nobody else sees the queue;
 * bad input changes nothing; reporting is rate limited and idempotent.
 */
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MemberRemoved_Reason } from "../../gen/chat/v1/event_pb.js";
import {
  ModerationService,
  ReportAction,
  ReportReason,
  ReportState,
} from "../../gen/chat/v1/moderation_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { lowLimits } from "../limits/kit.js";
import { withToken } from "../support/clients.js";
import { badFields, expectCode, reasonOf } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventAt, roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, a } = setupTestEnv({
  deps: {
    rateLimits: lowLimits({
      reports: { points: 4, seconds: 600 },
      sendBurst: { points: 1000, seconds: 600 },
    }),
  },
});

const mod = (u: TestUser) => createClient(ModerationService, withToken(a, u.token));
const reportCount = (roomId: bigint) => env.prisma.report.count({ where: { roomId } });

async function sendAs(u: TestUser, roomId: bigint, text: string) {
  const res = await u.msgs.sendMessage({
    roomId,
    text,
    clientMsgId: `r${Math.random().toString(36).slice(2)}`,
  });
  if (!res.message) throw new Error("no message");
  return res.message;
}

/** Owner, admin, reporter and offender in a public room. */
async function cast() {
  const owner = await newUser(a, "rp");
  const admin = await newUser(a, "rp");
  const reporter = await newUser(a, "rp");
  const offender = await newUser(a, "rp");
  const room = await newRoom(owner, [admin, reporter, offender]);
  await owner.rooms.setMemberRole({ roomId: room, userId: admin.id, role: MemberRole.ADMIN });
  return { owner, admin, reporter, offender, room };
}

describe("reports", () => {
  it("go through the queue with each action as a room event of the moderator", async () => {
    const { owner, admin, reporter, offender, room } = await cast();
    const spam = await sendAs(offender, room, "buy cheap watches");
    const first = await mod(reporter).reportMessage({
      roomId: room,
      messageId: spam.id,
      reason: ReportReason.SPAM,
      text: "  spam again ",
    });
    const r1 = first.report;
    expect(r1?.state).toBe(ReportState.OPEN);
    expect(r1?.userId).toBe(offender.id);
    expect(r1?.messageSeq).toBe(spam.seq);
    expect(r1?.messageText).toBe("buy cheap watches");
    expect(r1?.text).toBe("spam again");
    // The same report again: the same open report, no second row.
    const dup = await mod(reporter).reportMessage({
      roomId: room,
      messageId: spam.id,
      reason: ReportReason.OTHER,
    });
    expect(dup.report?.id).toBe(r1?.id);
    expect(await reportCount(room)).toBe(1);

    // The admin sees it, with the reporter; deletes the message.
    const queue = await mod(admin).listReports({ roomId: room, state: ReportState.OPEN });
    expect(queue.reports.map((r) => r.id)).toEqual([r1?.id]);
    expect(queue.reports[0]?.reporterId).toBe(reporter.id);
    expect(queue.users.map((u) => u.id).sort()).toEqual([reporter.id, offender.id].sort());
    const del = await mod(admin).resolveReport({
      reportId: r1?.id ?? 0n,
      action: ReportAction.DELETE_MESSAGE,
    });
    expect(del.report?.state).toBe(ReportState.RESOLVED);
    expect(del.report?.resolvedBy).toBe(admin.id);
    expect(del.report?.action).toBe(ReportAction.DELETE_MESSAGE);
    expect(del.report?.resolveTime).toBeDefined();
    const deleted = await eventAt(env, room, del.seq);
    expect(deleted.row.actorId).toBe(admin.id);
    expect(deleted.event.change.case).toBe("messageDeleted");
    const [gone] = (await reporter.msgs.listMessages({ roomId: room })).messages.filter(
      (m) => m.id === spam.id,
    );
    expect(gone?.deleteTime).toBeDefined();
    // Resolved once only.
    const twice = await expectCode(
      mod(owner).resolveReport({ reportId: r1?.id ?? 0n, action: ReportAction.DISMISS }),
      Code.FailedPrecondition,
    );
    expect(twice.rawMessage).toContain("resolved");
    expect(
      (await mod(owner).listReports({ roomId: room, state: ReportState.OPEN })).reports,
    ).toHaveLength(0);

    // A user report, muted for ten minutes.
    const r2 = (
      await mod(reporter).reportUser({
        roomId: room,
        userId: offender.id,
        reason: ReportReason.HARASSMENT,
      })
    ).report;
    const muted = await mod(owner).resolveReport({
      reportId: r2?.id ?? 0n,
      action: ReportAction.MUTE,
      muteSeconds: 600,
    });
    expect(muted.report?.muteSeconds).toBe(600);
    const mutedEv = await eventAt(env, room, muted.seq);
    expect(mutedEv.row.actorId).toBe(owner.id);
    expect(mutedEv.event.change.case).toBe("memberMuted");
    await expectCode(
      offender.msgs.sendMessage({ roomId: room, text: "hey", clientMsgId: "x1" }),
      Code.PermissionDenied,
    );

    // Reported again (the first report is resolved, so a new one opens): kicked.
    const r3 = (
      await mod(reporter).reportUser({
        roomId: room,
        userId: offender.id,
        reason: ReportReason.HARASSMENT,
      })
    ).report;
    expect(r3?.id).not.toBe(r2?.id);
    const kicked = await mod(owner).resolveReport({
      reportId: r3?.id ?? 0n,
      action: ReportAction.KICK,
    });
    const kickEv = await eventAt(env, room, kicked.seq);
    expect(kickEv.row.actorId).toBe(owner.id);
    expect(kickEv.event.actorId).toBe(owner.id);
    const kick = kickEv.event.change;
    expect(kick.case === "memberRemoved" && kick.value.reason).toBe(MemberRemoved_Reason.KICKED);

    // A former member can still be reported, and banned.
    const r4 = (
      await mod(reporter).reportUser({
        roomId: room,
        userId: offender.id,
        reason: ReportReason.HATE,
      })
    ).report;
    const banned = await mod(admin).resolveReport({
      reportId: r4?.id ?? 0n,
      action: ReportAction.BAN,
    });
    const banEv = await eventAt(env, room, banned.seq);
    expect(banEv.row.actorId).toBe(admin.id);
    const ban = banEv.event.change;
    expect(ban.case === "memberRemoved" && ban.value.reason).toBe(MemberRemoved_Reason.BANNED);
    await expectCode(offender.rooms.joinRoom({ roomId: room }), Code.PermissionDenied);

    // Dismissed: no room event.
    const other = await newUser(a, "rp");
    await other.rooms.joinRoom({ roomId: room });
    const r5 = (
      await mod(admin).reportUser({ roomId: room, userId: other.id, reason: ReportReason.OTHER })
    ).report;
    const before = await roomSnapshot(env, room);
    const dismissed = await mod(owner).resolveReport({
      reportId: r5?.id ?? 0n,
      action: ReportAction.DISMISS,
    });
    expect(dismissed.seq).toBe(0n);
    expect(dismissed.report?.action).toBe(ReportAction.DISMISS);
    expect(await roomSnapshot(env, room)).toEqual(before);
    const all = await mod(owner).listReports({ roomId: room, state: ReportState.RESOLVED });
    expect(all.reports.map((r) => r.id)).toEqual([r5, r4, r3, r2, r1].map((r) => r?.id));
  });

  it("is for members to file and for the room's moderators to see", async () => {
    const { owner, reporter, offender, room } = await cast();
    const outsider = await newUser(a, "rp");
    const elsewhere = await newUser(a, "rp");
    await newRoom(elsewhere); // an owner, of another room
    const msg = await sendAs(offender, room, "something");
    // Not a member (the room is public): NOT_FOUND.
    await expectCode(
      mod(outsider).reportMessage({ roomId: room, messageId: msg.id, reason: ReportReason.SPAM }),
      Code.NotFound,
    );
    await expectCode(
      mod(outsider).reportUser({ roomId: room, userId: offender.id, reason: ReportReason.SPAM }),
      Code.NotFound,
    );
    // A message of another room, or a user never in this one: NOT_FOUND.
    const mine = await newRoom(reporter);
    const foreign = await sendAs(reporter, mine, "mine");
    await expectCode(
      mod(offender).reportMessage({
        roomId: room,
        messageId: foreign.id,
        reason: ReportReason.SPAM,
      }),
      Code.NotFound,
    );
    await expectCode(
      mod(reporter).reportUser({ roomId: room, userId: outsider.id, reason: ReportReason.SPAM }),
      Code.NotFound,
    );
    // A private room's messages cannot be reported by outsiders either.
    const secret = await newRoom(owner, [offender], Visibility.PRIVATE);
    const hidden = await sendAs(offender, secret, "secret");
    await expectCode(
      mod(reporter).reportMessage({
        roomId: secret,
        messageId: hidden.id,
        reason: ReportReason.SPAM,
      }),
      Code.NotFound,
    );
    const { report } = await mod(reporter).reportMessage({
      roomId: room,
      messageId: msg.id,
      reason: ReportReason.SPAM,
    });
    const id = report?.id ?? 0n;
    // Members: PERMISSION_DENIED; outsiders and another room's owner: NOT_FOUND.
    await expectCode(mod(reporter).listReports({ roomId: room }), Code.PermissionDenied);
    await expectCode(
      mod(reporter).resolveReport({ reportId: id, action: ReportAction.DISMISS }),
      Code.PermissionDenied,
    );
    for (const u of [outsider, elsewhere]) {
      await expectCode(mod(u).listReports({ roomId: room }), Code.NotFound);
      await expectCode(
        mod(u).resolveReport({ reportId: id, action: ReportAction.BAN }),
        Code.NotFound,
      );
    }
    await expectCode(
      mod(owner).resolveReport({ reportId: 999_999_999n, action: ReportAction.DISMISS }),
      Code.NotFound,
    );
    // Still open, untouched.
    const open = await mod(owner).listReports({ roomId: room, state: ReportState.OPEN });
    expect(open.reports.map((r) => r.id)).toEqual([id]);
  });

  it("refuses bad input with INVALID_ARGUMENT and changes nothing", async () => {
    const { owner, reporter, offender, room } = await cast();
    const msg = await sendAs(offender, room, "meh");
    const own = await sendAs(reporter, room, "my own");
    const before = await roomSnapshot(env, room);
    const bad = [
      [() => mod(reporter).reportMessage({ roomId: room, messageId: msg.id }), "reason"],
      [
        () =>
          mod(reporter).reportMessage({
            roomId: room,
            messageId: msg.id,
            reason: 99 as ReportReason,
          }),
        "reason",
      ],
      [
        () =>
          mod(reporter).reportMessage({
            roomId: room,
            messageId: msg.id,
            reason: ReportReason.SPAM,
            text: "x".repeat(1001),
          }),
        "text",
      ],
      [
        () =>
          mod(reporter).reportMessage({
            roomId: room,
            messageId: own.id,
            reason: ReportReason.SPAM,
          }),
        "message_id",
      ],
      [
        () =>
          mod(reporter).reportUser({
            roomId: room,
            userId: reporter.id,
            reason: ReportReason.SPAM,
          }),
        "user_id",
      ],
      [
        () => mod(reporter).reportUser({ roomId: room, userId: 0n, reason: ReportReason.SPAM }),
        "user_id",
      ],
    ] as const;
    for (const [call, field] of bad) {
      const err = await expectCode(call(), Code.InvalidArgument);
      expect(badFields(err)).toEqual([field]);
    }
    expect(await reportCount(room)).toBe(0);
    const { report } = await mod(reporter).reportUser({
      roomId: room,
      userId: offender.id,
      reason: ReportReason.SPAM,
    });
    const id = report?.id ?? 0n;
    const badResolve = [
      [() => mod(owner).resolveReport({ reportId: id, action: ReportAction.MUTE }), "mute_seconds"],
      [
        () => mod(owner).resolveReport({ reportId: id, action: ReportAction.KICK, muteSeconds: 5 }),
        "mute_seconds",
      ],
      [
        () =>
          mod(owner).resolveReport({
            reportId: id,
            action: ReportAction.MUTE,
            muteSeconds: 40 * 24 * 3600,
          }),
        "mute_seconds",
      ],
      [() => mod(owner).resolveReport({ reportId: id }), "action"],
      // A user report has no message to delete.
      [
        () => mod(owner).resolveReport({ reportId: id, action: ReportAction.DELETE_MESSAGE }),
        "action",
      ],
      [() => mod(owner).listReports({ roomId: room, pageToken: "nope" }), "page_token"],
    ] as const;
    for (const [call, field] of badResolve) {
      const err = await expectCode(call(), Code.InvalidArgument);
      expect(badFields(err)).toEqual([field]);
    }
    expect(await roomSnapshot(env, room)).toEqual(before);
    const still = await mod(owner).listReports({ roomId: room });
    expect(still.reports.map((r) => [r.id, r.state])).toEqual([[id, ReportState.OPEN]]);
  });

  it("is rate limited per reporter (repeats of an open report are free) and paged", async () => {
    const { owner, reporter, offender, room } = await cast();
    const msgs = [];
    for (let i = 0; i < 5; i++) msgs.push(await sendAs(offender, room, `m${i}`));
    const ids: bigint[] = [];
    for (const m of msgs.slice(0, 4)) {
      const r = await mod(reporter).reportMessage({
        roomId: room,
        messageId: m.id,
        reason: ReportReason.SPAM,
      });
      ids.push(r.report?.id ?? 0n);
      // A repeat costs nothing.
      await mod(reporter).reportMessage({
        roomId: room,
        messageId: m.id,
        reason: ReportReason.SPAM,
      });
    }
    const err = await expectCode(
      mod(reporter).reportMessage({
        roomId: room,
        messageId: msgs[4]?.id ?? 0n,
        reason: ReportReason.SPAM,
      }),
      Code.ResourceExhausted,
    );
    expect(reasonOf(err)).toBe("RATE_LIMITED");
    expect(await reportCount(room)).toBe(4);
    const p1 = await mod(owner).listReports({ roomId: room, pageSize: 3 });
    const p2 = await mod(owner).listReports({
      roomId: room,
      pageSize: 3,
      pageToken: p1.nextPageToken,
    });
    expect(p2.nextPageToken).toBe("");
    expect([...p1.reports, ...p2.reports].map((r) => r.id)).toEqual([...ids].reverse());
  });

  it("is refused in direct conversations, which have no moderators", async () => {
    const alice = await newUser(a, "rp");
    const bob = await newUser(a, "rp");
    const dm = (await alice.rooms.openDirect({ userId: bob.id })).room?.id ?? 0n;
    const msg = await sendAs(bob, dm, "hi");
    await expectCode(
      mod(alice).reportMessage({ roomId: dm, messageId: msg.id, reason: ReportReason.SPAM }),
      Code.FailedPrecondition,
    );
  });
});

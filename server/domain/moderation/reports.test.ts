/** Unit tests of what reports decide without a database: resolutions and views. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ReportAction, ReportReason, ReportState } from "../../../gen/chat/v1/moderation_pb.js";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { checkResolution, type ReportRow, toReport } from "./reports.js";

const fields = (err: unknown) =>
  ConnectError.from(err)
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map((v) => v.field));

function refusal(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

describe("checkResolution", () => {
  it("takes a mute length with MUTE only", () => {
    expect(checkResolution(ReportAction.MUTE, 600)).toEqual({ action: "MUTE", muteSeconds: 600 });
    expect(checkResolution(ReportAction.BAN, 0)).toEqual({ action: "BAN", muteSeconds: null });
    expect(fields(refusal(() => checkResolution(ReportAction.MUTE, 0)))).toEqual(["mute_seconds"]);
    expect(fields(refusal(() => checkResolution(ReportAction.KICK, 5)))).toEqual(["mute_seconds"]);
  });

  it("refuses an unspecified or unknown action", () => {
    expect(fields(refusal(() => checkResolution(ReportAction.UNSPECIFIED, 0)))).toEqual(["action"]);
    expect(fields(refusal(() => checkResolution(99 as ReportAction, 0)))).toEqual(["action"]);
  });
});

describe("toReport", () => {
  const open: ReportRow = {
    id: 7n,
    roomId: 3n,
    reporterId: 4n,
    messageId: null,
    messageSeq: null,
    userId: 5n,
    reason: "HATE",
    text: "why",
    messageText: "",
    state: "OPEN",
    createdAt: new Date(1_000),
    resolvedById: null,
    resolvedAt: null,
    action: null,
    muteSeconds: null,
  };

  it("shows an open user report with zeros for what it does not have", () => {
    const r = toReport(open);
    expect(r.reason).toBe(ReportReason.HATE);
    expect(r.state).toBe(ReportState.OPEN);
    expect([r.messageId, r.messageSeq, r.resolvedBy]).toEqual([0n, 0n, 0n]);
    expect(r.action).toBe(ReportAction.UNSPECIFIED);
    expect(r.resolveTime).toBeUndefined();
  });

  it("shows who resolved it, when and how", () => {
    const r = toReport({
      ...open,
      state: "RESOLVED",
      resolvedById: 9n,
      resolvedAt: new Date(2_000),
      action: "MUTE",
      muteSeconds: 600,
    });
    expect(r.state).toBe(ReportState.RESOLVED);
    expect(r.resolvedBy).toBe(9n);
    expect(r.resolveTime && timestampDate(r.resolveTime).getTime()).toBe(2_000);
    expect([r.action, r.muteSeconds]).toEqual([ReportAction.MUTE, 600]);
  });
});

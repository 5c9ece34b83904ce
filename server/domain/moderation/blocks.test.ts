/** Unit tests of the send refusal in a direct conversation with a block. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { requireNotBlocked } from "./blocks.js";

function refusal(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

describe("requireNotBlocked", () => {
  it("lets a send through without a block", () => {
    expect(() => requireNotBlocked(null, 1n)).not.toThrow();
  });

  it("tells the blocker to unblock, and the blocked sender only that they cannot write", () => {
    for (const [blocker, sender, says] of [
      [1n, 1n, "unblock"],
      [2n, 1n, "cannot send"],
    ] as const) {
      const err = refusal(() => requireNotBlocked(blocker, sender));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("BLOCKED");
      expect(err.rawMessage).toContain(says);
    }
  });
});

import { create } from "@bufbuild/protobuf";
import { MessageSchema, ThreadSummarySchema } from "@protochat/sdk";
import { describe, expect, it } from "vitest";
import { lastSeq, liveReplyCount, mergeReplies } from "./threads.js";

const msg = (id: number, seq: number, threadRootId = 0, text = "") =>
  create(MessageSchema, {
    id: BigInt(id),
    seq: BigInt(seq),
    threadRootId: BigInt(threadRootId),
    text,
  });

describe("threads", () => {
  it("counts replies after the loaded summary", () => {
    const root = msg(1, 1);
    root.thread = create(ThreadSummarySchema, { replyCount: 2, lastReplySeq: 5n });
    const room = [root, msg(2, 4, 1), msg(3, 5, 1), msg(4, 6, 1), msg(5, 7, 9)];
    expect(liveReplyCount(root, room)).toBe(3);
    expect(liveReplyCount(msg(9, 2), room)).toBe(1);
  });

  it("merges fetched and live replies by sequence, live state winning", () => {
    const fetched = [msg(3, 5, 1, "old"), msg(2, 4, 1)];
    const room = [msg(3, 5, 1, "edited"), msg(4, 6, 1), msg(7, 8, 2)];
    const merged = mergeReplies(1n, fetched, room);
    expect(merged.map((m) => m.id)).toEqual([2n, 3n, 4n]);
    expect(merged[1]?.text).toBe("edited");
    expect(lastSeq(merged)).toBe(6n);
    expect(lastSeq([])).toBe(0n);
  });
});

// Concurrent writers: one hot room (dense, gap-free sequences in messages
// and room_events) and many rooms in parallel. Prints the throughput seen.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { expectDense } from "../support/rows.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

function rate(n: number, ms: number): string {
  return `${n} messages in ${ms.toFixed(0)} ms = ${((n * 1000) / ms).toFixed(0)} msg/s`;
}

describe("concurrent sends", () => {
  it("60 concurrent senders in one room get seqs N+1..N+60 with no hole or duplicate", async () => {
    const owner = await newUser(transport);
    const senders: TestUser[] = [];
    for (let i = 0; i < 12; i++) senders.push(await newUser(transport));
    const roomId = await newRoom(owner, senders);
    const startSeq = (await expectDense(env, roomId)).lastSeq;
    const n = 60;
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const s = senders[i % senders.length] as TestUser;
        return s.msgs.sendMessage({ roomId, text: `message ${i}`, clientMsgId: `m-${i}` });
      }),
    );
    const elapsed = performance.now() - started;
    const seqs = results.map((r) => r.message?.seq ?? 0n).sort((a, b) => (a < b ? -1 : 1));
    const expected = Array.from({ length: n }, (_, i) => startSeq + BigInt(i + 1));
    expect(seqs).toEqual(expected);
    expect(results.every((r) => !r.duplicate)).toBe(true);

    const rows = await env.prisma.message.findMany({
      where: { roomId, seq: { gt: startSeq } },
      select: { seq: true, text: true },
      orderBy: { seq: "asc" },
    });
    expect(rows.map((r) => r.seq)).toEqual(expected);
    expect(new Set(rows.map((r) => r.text)).size).toBe(n);
    expect((await expectDense(env, roomId)).lastSeq).toBe(startSeq + BigInt(n));
    console.log(`[throughput] one room, ${n} concurrent senders: ${rate(n, elapsed)}`);
  });

  it("keeps every room dense when many rooms are written in parallel", async () => {
    const owner = await newUser(transport);
    const others: TestUser[] = [];
    for (let i = 0; i < 4; i++) others.push(await newUser(transport));
    const roomIds: bigint[] = [];
    for (let i = 0; i < 8; i++) roomIds.push(await newRoom(owner, others));
    const perRoom = 25;
    const writers = [owner, ...others];
    const started = performance.now();
    await Promise.all(
      roomIds.flatMap((roomId, r) =>
        Array.from({ length: perRoom }, (_, i) => {
          const w = writers[i % writers.length] as TestUser;
          return w.msgs.sendMessage({ roomId, text: `r${r} m${i}`, clientMsgId: `r${r}-m${i}` });
        }),
      ),
    );
    const elapsed = performance.now() - started;
    for (const roomId of roomIds) {
      await expectDense(env, roomId);
      expect(await env.prisma.message.count({ where: { roomId, kind: "TEXT" } })).toBe(perRoom);
    }
    console.log(
      `[throughput] ${roomIds.length} rooms in parallel: ${rate(roomIds.length * perRoom, elapsed)}`,
    );
  });

  it("mixes sends, edits, reactions and deletes without holes, and failures give numbers back", async () => {
    const owner = await newUser(transport);
    const member = await newUser(transport);
    const roomId = await newRoom(owner, [member]);
    const seed = await owner.msgs.sendMessage({ roomId, text: "seed", clientMsgId: "seed" });
    const seedId = seed.message?.id ?? 0n;
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      ops.push(member.msgs.sendMessage({ roomId, text: `m${i}`, clientMsgId: `mix-${i}` }));
      ops.push(owner.msgs.addReaction({ messageId: seedId, emoji: `e${i}` }));
      ops.push(owner.msgs.editMessage({ messageId: seedId, text: `seed v${i}` }));
      // Always fails inside the transaction (not the author): must not burn a seq.
      ops.push(
        expectCode(
          member.msgs.editMessage({ messageId: seedId, text: "no" }),
          Code.PermissionDenied,
        ),
      );
    }
    await Promise.all(ops);
    const last = (await expectDense(env, roomId)).lastSeq;
    const counts = await env.prisma.roomEvent.groupBy({
      by: ["type"],
      where: { roomId },
      _count: { _all: true },
    });
    const byType = Object.fromEntries(counts.map((c) => [c.type, c._count._all]));
    expect(byType.reactionAdded).toBe(20);
    expect(byType.messageEdited).toBe(20);
    expect(last).toBe(BigInt(Object.values(byType).reduce((a, b) => a + b, 0)));
  });
});

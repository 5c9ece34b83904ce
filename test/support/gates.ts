/**
 * Holding the server at a point of its code: a gate a call waits at until
 * the test releases it, and a Prisma client with gates in the feed's reads.
 */
import type { PrismaClient } from "../../prisma/generated/client.js";

/**
 * Holds one call at a point of the server's code: `arm()` makes the next
 * `pass()` wait until `release()`; `reached` resolves when a call waits.
 */
export class Gate {
  private waiting: { reached: () => void; released: Promise<void> } | undefined;

  arm(): { reached: Promise<void>; release: () => void } {
    let release: () => void = () => {};
    let reached: () => void = () => {};
    const reachedP = new Promise<void>((r) => {
      reached = r;
    });
    const released = new Promise<void>((r) => {
      release = r;
    });
    this.waiting = { reached, released };
    return { reached: reachedP, release };
  }

  async pass(): Promise<void> {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    w.reached();
    await w.released;
  }
}

/**
 * The env's Prisma client with gates in four reads of the feed: after the
 * membership snapshot of Subscribe (memberships with their room's last_seq),
 * after the room load of a join notification (a room with its name) and
 * after a read of stored events (replay) the read has happened when the
 * gate holds it; the room hub's head read (the room's last_seq alone) is
 * held before it runs.
 */
export function gatedPrisma(
  prisma: PrismaClient,
  gates: { snapshot?: Gate; roomLoad?: Gate; hubHead?: Gate; replayRead?: Gate },
): PrismaClient {
  const extended = prisma.$extends({
    query: {
      async $queryRaw({ args, query }) {
        const result = await query(args);
        // Subscribe's membership snapshot (memberships joined with last_seq).
        if (sqlText(args).includes("FROM memberships m JOIN rooms r")) await gates.snapshot?.pass();
        return result;
      },
      roomEvent: {
        async findMany({ args, query }) {
          const result = await query(args);
          await gates.replayRead?.pass();
          return result;
        },
      },
      room: {
        async findUnique({ args, query }) {
          const select = args.select as Record<string, unknown> | undefined;
          const headOnly = select?.lastSeq && Object.keys(select).length === 1;
          if (headOnly) await gates.hubHead?.pass();
          const result = await query(args);
          if (select?.name) await gates.roomLoad?.pass();
          return result;
        },
      },
    },
  });
  return extended as unknown as PrismaClient;
}

/** The SQL text of a `$queryRaw` call's arguments (a Prisma.Sql or template strings). */
function sqlText(args: unknown): string {
  const a = args as { strings?: readonly string[]; sql?: string } | readonly unknown[];
  if (Array.isArray(a)) return (a[0] as readonly string[]).join("?");
  const o = a as { strings?: readonly string[]; sql?: string };
  return o.sql ?? o.strings?.join("?") ?? "";
}

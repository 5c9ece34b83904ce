// The search token backfill: messages stored without tokens (null) or with
// the tokens of before room scoping are found after it, and not before;
// it resumes where it stopped, redoes nothing on a second run, leaves
// deleted, system and already tokenized messages alone; the admin CLI runs it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { SearchService } from "../../gen/chat/v1/search_pb.js";
import { backfillSearchTokens } from "../../server/domain/search/search-backfill.js";
import { authed } from "../support/clients.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();
const run = promisify(execFile);

let n = 0;
async function post(u: TestUser, roomId: bigint, text: string) {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: `bf-${++n}` });
  if (!res.message) throw new Error("no message");
  return res.message;
}

/** Tokens as the format before room scoping wrote them: the same without `r<room>_`. */
async function makeOld(ids: bigint[], how: "null" | "unscoped"): Promise<void> {
  for (const id of ids) {
    if (how === "null") {
      await env.prisma.$executeRaw`UPDATE messages SET search_tokens = NULL WHERE id = ${id}`;
    } else {
      await env.prisma.$executeRaw`UPDATE messages
        SET search_tokens = REGEXP_REPLACE(search_tokens, 'r[0-9a-z]+_', '') WHERE id = ${id}`;
    }
  }
}

async function tokensOf(id: bigint): Promise<string | null> {
  const row = await env.prisma.message.findUnique({
    where: { id },
    select: { searchTokens: true },
  });
  return row?.searchTokens ?? null;
}

describe("search token backfill", () => {
  it("gives tokens to old messages, resumably, once, and the admin CLI runs it", {
    timeout: 120_000,
  }, async () => {
    const alice = await newUser(transport);
    const room = await newRoom(alice);
    const s = authed(SearchService, transport, alice.token);
    const texts = async (query: string) =>
      (await s.searchMessages({ query, roomId: room })).hits.map((h) => h.message?.text).sort();

    const old1 = await post(alice, room, "archive 档案 one");
    const old2 = await post(alice, room, "archive 档案 two");
    const old3 = await post(alice, room, "archive 档案 three");
    const gone = await post(alice, room, "archive 档案 deleted");
    const noWords = await post(alice, room, "!!! ...");
    const fresh = await post(alice, room, "archive 档案 fresh");
    await alice.msgs.deleteMessage({ messageId: gone.id });
    await makeOld([old1.id, old3.id], "null");
    await makeOld([old2.id], "unscoped");
    await makeOld([noWords.id], "null");
    const freshTokens = await tokensOf(fresh.id);
    expect(freshTokens).toMatch(/^r[0-9a-z]+_/);

    // Before: only the message that has room-scoped tokens is found.
    expect(await texts("archive")).toEqual(["archive 档案 fresh"]);
    expect(await texts("档案")).toEqual(["archive 档案 fresh"]);

    // A run stopped after its first window of one id...
    const stop = new AbortController();
    const first = await backfillSearchTokens(env.prisma, {
      afterId: old1.id - 1n,
      window: 1,
      signal: stop.signal,
      onWindow: () => stop.abort(),
    });
    expect(first).toMatchObject({ written: 1, lastId: old1.id });
    expect(await texts("archive")).toEqual(["archive 档案 fresh", "archive 档案 one"]);

    // ...resumes after the id it reached and finishes.
    const windows: bigint[] = [];
    const rest = await backfillSearchTokens(env.prisma, {
      afterId: first.lastId,
      window: 2,
      onWindow: (p) => windows.push(p.lastId),
    });
    expect(rest.lastId).toBe(rest.maxId);
    expect(windows.length).toBeGreaterThan(1);
    // old2, old3 and the message with no words (now "": indexed, nothing to find).
    expect(rest.written).toBe(3);
    expect(await tokensOf(noWords.id)).toBe("");
    expect(await tokensOf(gone.id)).toBeNull();
    expect(await tokensOf(fresh.id)).toBe(freshTokens);
    const all = [
      "archive 档案 fresh",
      "archive 档案 one",
      "archive 档案 three",
      "archive 档案 two",
    ];
    expect(await texts("archive")).toEqual(all);
    expect(await texts("档案")).toEqual(all);

    // Nothing left: a second run from the start writes nothing.
    expect((await backfillSearchTokens(env.prisma)).written).toBe(0);

    // The admin command does the same job.
    await makeOld([old2.id], "null");
    expect(await texts("archive")).not.toContain("archive 档案 two");
    const out = await run(
      process.execPath,
      ["--import", "tsx", "server/admin-cli.ts", "search", "backfill", "--window", "1000"],
      { env: { ...process.env, DATABASE_URL: env.databaseUrl }, timeout: 60_000 },
    );
    expect(out.stdout).toMatch(/^done: up to id \d+ of \d+, 1 messages given tokens$/m);
    expect(await texts("archive")).toEqual(all);
  });
});

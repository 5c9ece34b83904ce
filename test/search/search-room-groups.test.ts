// A search over many rooms runs one FULLTEXT query per group of rooms and
// merges them: with groups of one room each, every order and every page
// must equal the single-query answer.
import { describe, expect, it } from "vitest";
import { searchMessages } from "../../server/domain/search/message-search.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

let n = 0;
async function post(u: TestUser, roomId: bigint, text: string) {
  const res = await u.msgs.sendMessage({ roomId, text, clientMsgId: `rg-${++n}` });
  if (!res.message) throw new Error("no message");
  return res.message.id;
}

/** Every hit id of a search, page after page, with `roomsPerQuery` rooms per query. */
async function allPages(
  userId: bigint,
  query: string,
  order: "relevance" | "date",
  roomsPerQuery: number | undefined,
): Promise<bigint[]> {
  const ids: bigint[] = [];
  let pageToken = "";
  for (let pages = 0; pages < 20; pages++) {
    const page = await searchMessages(env.prisma, {
      userId,
      query,
      roomId: 0n,
      senderId: 0n,
      order,
      pageSize: 2,
      pageToken,
      ...(roomsPerQuery !== undefined && { roomsPerQuery }),
    });
    ids.push(...page.hits.map((h) => h.message.id));
    pageToken = page.nextPageToken;
    if (pageToken === "") break;
  }
  return ids;
}

describe("search over groups of rooms", () => {
  it("merges one query per group into the same hits, order and pages", async () => {
    const alice = await newUser(transport);
    const bob = await newUser(transport);
    const rooms = [
      await newRoom(alice, [bob]),
      await newRoom(alice),
      await newRoom(bob, [alice]),
      await newRoom(bob), // alice is not in this one
    ];
    const sent: bigint[] = [];
    // Different term frequencies, so relevance differs between rooms.
    for (const [i, room] of rooms.entries()) {
      const u = i >= 2 ? bob : alice;
      sent.push(await post(u, room, `weather 天气 ${"weather ".repeat(i)}`));
      sent.push(await post(u, room, `天气很好 sunny weather in room ${i}`));
      await post(u, room, "unrelated words");
    }
    for (const order of ["date", "relevance"] as const) {
      for (const query of ["weather", "天气", "weath"]) {
        const single = await allPages(alice.id, query, order, undefined);
        const grouped = await allPages(alice.id, query, order, 1);
        expect(grouped).toEqual(single);
        // Six messages of alice's three rooms; none of the room she is not in.
        expect([...single].sort()).toEqual(sent.slice(0, 6).sort());
        if (order === "date") expect(single).toEqual([...single].sort((a, b) => (a < b ? 1 : -1)));
      }
    }
  });
});

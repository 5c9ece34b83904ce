/** Unit tests of `@username` mentions (mentions.ts), the database faked. */
import { describe, expect, it } from "vitest";
import type { PrismaClient } from "../store/prisma.js";
import { maxMentionNames, mentionCandidates, resolveMentions } from "./mentions.js";

describe("mentionCandidates", () => {
  it("finds @names in order of first appearance, lower-cased, each once", () => {
    expect(mentionCandidates("hi @Ann, @bob_2 and @ANN again; @carol.smith too")).toEqual([
      ["ann"],
      ["bob_2"],
      ["carol.smith"],
    ]);
  });

  it("ignores e-mail addresses and other @s inside words", () => {
    expect(mentionCandidates("mail ann@example.com or x@@bob or @@carol")).toEqual([]);
    expect(mentionCandidates("(@ann) [@bob]")).toEqual([["ann"], ["bob"]]);
  });

  it("offers the name without trailing dots and dashes as a second spelling", () => {
    expect(mentionCandidates("thanks @ann. and @bob-")).toEqual([
      ["ann.", "ann"],
      ["bob-", "bob"],
    ]);
    expect(mentionCandidates("so @carol...")).toEqual([["carol...", "carol"]]);
    // The shorter spelling seen before: nothing new to look up.
    expect(mentionCandidates("@ann then @ann.")).toEqual([["ann"], ["ann.", "ann"]]);
    expect(mentionCandidates("@ann. then @ann")).toEqual([["ann.", "ann"]]);
  });

  it("keeps only spellings a username can have (3 to 32 characters)", () => {
    const longest = "a".repeat(32);
    expect(mentionCandidates(`@ab @abc @${longest} @${longest}b`)).toEqual([["abc"], [longest]]);
    // Too short once stripped: only the raw spelling is a candidate.
    expect(mentionCandidates("@ab.")).toEqual([["ab."]]);
    expect(mentionCandidates("@a.")).toEqual([]);
  });

  it(`stops after ${maxMentionNames} distinct names`, () => {
    const names = Array.from({ length: 150 }, (_, i) => `user${i}`);
    const found = mentionCandidates(names.map((n) => `@${n}`).join(" "));
    expect(found).toHaveLength(maxMentionNames);
    expect(found.at(-1)).toEqual([`user${maxMentionNames - 1}`]);
  });
});

/** A room's current members as `membersByUsername` reads them, and the queries made. */
function fakeDb(members: Record<string, bigint>) {
  const queries: { roomId: unknown; keys: string[] }[] = [];
  const db = {
    async $queryRaw(_strings: TemplateStringsArray, ...values: unknown[]) {
      const [roomId, joined] = values as [unknown, { values: string[] }];
      queries.push({ roomId, keys: [...joined.values] });
      return joined.values.flatMap((key) =>
        members[key] === undefined ? [] : [{ id: members[key], usernameKey: key }],
      );
    },
  };
  return { db: db as unknown as PrismaClient, queries };
}

describe("resolveMentions", () => {
  it("resolves the members named, ascending, each once, in one query", async () => {
    const { db, queries } = fakeDb({ ann: 7n, bob: 3n });
    const ids = await resolveMentions(db, 42n, "@bob @Ann @nobody and @BOB again");
    expect(ids).toEqual([3n, 7n]);
    expect(queries).toEqual([{ roomId: 42n, keys: ["bob", "ann", "nobody"] }]);
  });

  it("asks nothing when the text mentions nobody", async () => {
    const { db, queries } = fakeDb({ ann: 7n });
    expect(await resolveMentions(db, 1n, "no mentions, mail ann@example.com")).toEqual([]);
    expect(queries).toEqual([]);
  });

  it("takes the longest spelling that names a member", async () => {
    // Both "ann." and "ann" are members: "@ann." is "ann.".
    const both = fakeDb({ "ann.": 5n, ann: 9n });
    expect(await resolveMentions(both.db, 1n, "thanks @ann.")).toEqual([5n]);
    expect(both.queries[0]?.keys).toEqual(["ann.", "ann"]);
    // Only "ann" is: the end of the sentence.
    const one = fakeDb({ ann: 9n });
    expect(await resolveMentions(one.db, 1n, "thanks @ann.")).toEqual([9n]);
  });
});

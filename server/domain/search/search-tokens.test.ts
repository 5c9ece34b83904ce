import { describe, expect, it } from "vitest";
import { snippetOf } from "./search-snippet.js";
import {
  booleanExpression,
  indexTokens,
  matchesQuery,
  maxTokenChars,
  parseQuery,
} from "./search-tokens.js";

const room = 77n;

/**
 * Whether the index would propose the text for the query in boolean mode:
 * every required group has an alternative among the message's tokens.
 */
function indexMatches(text: string, query: string, rooms: bigint[] = [room]): boolean {
  const q = parseQuery(query);
  if (!q) return false;
  const tokens = indexTokens(text, room).split(" ");
  const groups = [...booleanExpression(q, rooms).matchAll(/\+\(([^)]*)\)/g)];
  return groups.every((g) =>
    (g[1] ?? "")
      .split(" ")
      .map((t) => t.replace(/^>/, ""))
      .some((t) =>
        t.endsWith("*") ? tokens.some((x) => x.startsWith(t.slice(0, -1))) : tokens.includes(t),
      ),
  );
}
const finds = (text: string, query: string) => {
  const q = parseQuery(query);
  return q !== undefined && indexMatches(text, query) && matchesQuery(text, q);
};

describe("search tokens", () => {
  it("are 3-84 characters of [a-z0-9_], so InnoDB indexes every one and no stopword equals one", () => {
    const text = "The A in ÉCOLE Привет 今天天气很好 ｆｕｌｌ 𠮷野家 x".repeat(3);
    const tokens = indexTokens(text, 2n ** 63n).split(" ");
    expect(tokens.length).toBeGreaterThan(5);
    for (const t of tokens) {
      expect(t).toMatch(/^[a-z0-9_]{3,84}$/);
      expect(["the", "a", "in"]).not.toContain(t);
    }
    // Repeats are kept for ranking, a few at most.
    expect(indexTokens("go go go go go go", 1n)).toBe("r1_w_go r1_w_go r1_w_go r1_w_go");
    // The longest room id still leaves a long word's token within the limit.
    expect(indexTokens("a".repeat(500), 2n ** 64n - 1n).length).toBe(maxTokenChars);
    expect(indexTokens("a".repeat(500), 1n).length).toBeLessThan(maxTokenChars);
  });

  it("are scoped to their room", () => {
    expect(indexTokens("天气 ok", 71n)).toBe("r1z_w_ok r1z_c_005929006c14");
    expect(indexMatches("今天天气很好", "天气", [room])).toBe(true);
    expect(indexMatches("今天天气很好", "天气", [1n, 2n])).toBe(false);
    expect(indexMatches("We deployed", "deploy", [5n, room])).toBe(true);
    expect(indexMatches("We deployed", "deploy", [5n])).toBe(false);
    // Room 77 is r25_: the "_" keeps room 2 (r2_) from matching it as a prefix.
    expect(indexMatches("We deployed", "deploy", [2n])).toBe(false);
  });

  it("are empty for text with no word (indexed, nothing to find)", () => {
    expect(indexTokens("!!! 🎉 ...", 1n)).toBe("");
    expect(indexTokens("天", 1n)).toBe("");
  });

  it("find Chinese and Japanese by any substring of two or more characters, only where it is", () => {
    expect(finds("今天天气很好", "天气")).toBe(true);
    expect(finds("今天天气很好", "今天天气很好")).toBe(true);
    expect(finds("今天天气很好", "气很")).toBe(true);
    // Both bigrams are present, but not as one substring.
    expect(indexMatches("气很 今天天", "天气很")).toBe(false);
    expect(indexMatches("天气 气很", "天气很")).toBe(true);
    expect(finds("天气 气很", "天气很")).toBe(false);
    expect(finds("東京の天気はどうですか", "天気は")).toBe(true);
    expect(finds("カレーライスを食べた", "ライス")).toBe(true);
    expect(finds("오늘 날씨가 좋네요", "날씨")).toBe(true);
    expect(finds("今天天气很好", "明天")).toBe(false);
  });

  it("find English by whole words and prefixes, case-insensitively", () => {
    expect(finds("We deployed the fix", "DEPLOY")).toBe(true);
    expect(finds("We deployed the fix", "the fix")).toBe(true);
    expect(finds("We deployed the fix", "ployed")).toBe(false);
    expect(finds("We deployed the fix", "fix bug")).toBe(false);
    expect(finds("Café crème", "cafe")).toBe(false);
    expect(finds("Café crème", "CAFÉ")).toBe(true);
    expect(finds("ｆｕｌｌ width", "full")).toBe(true);
    expect(finds("Привет мир", "прив")).toBe(true);
    expect(finds("iPhone手机坏了", "iphone 手机")).toBe(true);
  });

  it("refuse a query with nothing to look up", () => {
    expect(parseQuery("天")).toBeUndefined();
    expect(parseQuery("!!! ?")).toBeUndefined();
    expect(parseQuery("天 ok")?.runs).toEqual(["天"]);
  });

  it("never put the caller's text in the expression's syntax, whatever the query", () => {
    const q = parseQuery('+a -b "c d" (e) ~f <g >h @1 x*');
    if (!q) throw new Error("no query");
    const e = booleanExpression(q, [1n, 35n]);
    expect(e).toMatch(/^(\+\(>?[a-z0-9_*]+( >?[a-z0-9_*]+)*\) ?)+$/);
    expect(booleanExpression(parseQuery("deploy 天气") as typeof q, [1n, 35n])).toBe(
      "+(r1_w_deploy* >r1_w_deploy rz_w_deploy* >rz_w_deploy) +(r1_c_005929006c14 rz_c_005929006c14)",
    );
  });
});

describe("snippets", () => {
  it("highlight every match, in code points of the original text", () => {
    const q = parseQuery("天气 good") as NonNullable<ReturnType<typeof parseQuery>>;
    const s = snippetOf("𠮷 今天天气很好, Good goods, not agood", q);
    const chars = [...s.text];
    expect(s.highlights.map((r) => chars.slice(r.start, r.end).join(""))).toEqual([
      "天气",
      "Good",
      "good",
    ]);
  });

  it("cut long text around the first match with ellipses", () => {
    const q = parseQuery("needle") as NonNullable<ReturnType<typeof parseQuery>>;
    const text = `${"hay ".repeat(200)}needle${" hay".repeat(200)}`;
    const s = snippetOf(text, q);
    expect(s.text.startsWith("…")).toBe(true);
    expect(s.text.endsWith("…")).toBe(true);
    expect([...s.text].length).toBeLessThanOrEqual(162);
    const [h] = s.highlights;
    expect(h && [...s.text].slice(h.start, h.end).join("")).toBe("needle");
  });
});

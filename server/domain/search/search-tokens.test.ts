import { describe, expect, it } from "vitest";
import { snippetOf } from "./search-snippet.js";
import { indexTokens, matchesQuery, maxTokenChars, parseQuery } from "./search-tokens.js";

/** The boolean query's terms without the operators, as the index would compare them. */
const terms = (q: string) =>
  (parseQuery(q)?.boolean ?? "")
    .split(" ")
    .filter((t) => t.startsWith("+"))
    .map((t) => t.slice(1));

/** Whether the index would propose the text for the query (boolean mode, every term required). */
function indexMatches(text: string, query: string): boolean {
  const tokens = (indexTokens(text) ?? "").split(" ");
  return terms(query).every((t) =>
    t.endsWith("*") ? tokens.some((x) => x.startsWith(t.slice(0, -1))) : tokens.includes(t),
  );
}
const finds = (text: string, query: string) => {
  const q = parseQuery(query);
  return q !== undefined && indexMatches(text, query) && matchesQuery(text, q);
};

describe("search tokens", () => {
  it("are 3-84 characters of [a-z0-9_], so InnoDB indexes every one and no stopword equals one", () => {
    const text = "The A in ÉCOLE Привет 今天天气很好 ｆｕｌｌ 𠮷野家 x".repeat(3);
    const tokens = (indexTokens(text) ?? "").split(" ");
    expect(tokens.length).toBeGreaterThan(5);
    for (const t of tokens) {
      expect(t).toMatch(/^[a-z0-9_]{3,84}$/);
      expect(["the", "a", "in"]).not.toContain(t);
    }
    // Repeats are kept for ranking, a few at most.
    expect(indexTokens("go go go go go go")).toBe("w_go w_go w_go w_go");
    expect((indexTokens("a".repeat(500)) ?? "").length).toBe(maxTokenChars);
  });

  it("are null for text with no word (not indexed at all)", () => {
    expect(indexTokens("!!! 🎉 ...")).toBeNull();
    expect(indexTokens("天")).toBeNull();
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

  it("never put InnoDB operators in the boolean expression, whatever the query", () => {
    const q = parseQuery('+a -b "c d" (e) ~f <g >h @1 x*') as { boolean: string };
    for (const t of q.boolean.split(" ")) expect(t).toMatch(/^\+?[a-z0-9_]+\*?$/);
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

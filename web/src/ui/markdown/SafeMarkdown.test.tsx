// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { renderNode, unmountAll } from "./render-test-util.js";
import { MAX_DELIMITERS, MAX_DEPTH, SafeMarkdown, safeUrl } from "./SafeMarkdown.js";

afterEach(unmountAll);

function html(text: string, me?: string): HTMLElement {
  return renderNode(<SafeMarkdown text={text} me={me} />);
}

function maxDepth(e: Element): number {
  let d = 0;
  for (const k of e.children) d = Math.max(d, maxDepth(k));
  return d + 1;
}

describe("SafeMarkdown", () => {
  it("renders basic Markdown", () => {
    const c = html("**bold** _it_ `code` ~~x~~\n\n- a\n- b");
    expect(c.querySelector("strong")?.textContent).toBe("bold");
    expect(c.querySelector("em")?.textContent).toBe("it");
    expect(c.querySelector("code")?.textContent).toBe("code");
    expect(c.querySelectorAll("li")).toHaveLength(2);
  });

  it("keeps only http, https and mailto links, safely attributed", () => {
    const c = html(
      "[ok](https://example.com/a) [mail](mailto:a@b.c) [bad](javascript:alert(1)) " +
        "[bad2](JaVaScRiPt:alert(1)) [bad3](data:text/html,<script>alert(1)</script>) " +
        "[bad4](vbscript:x) [rel](/relative) <javascript:alert(1)>",
    );
    const links = [...c.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual([
      "https://example.com/a",
      "mailto:a@b.c",
    ]);
    for (const a of links) {
      expect(a.getAttribute("rel")).toBe("noopener noreferrer nofollow");
      expect(a.getAttribute("target")).toBe("_blank");
    }
    expect(c.querySelectorAll("[href]")).toHaveLength(2);
    expect(c.textContent).toContain("bad");
  });

  it("never renders raw HTML", () => {
    const c = html(
      '<script>alert(1)</script>\n\n<img src=x onerror="alert(1)"> <b onclick="x()">hi</b> ' +
        '<iframe src="https://evil.example"></iframe>\n\n![pic](https://evil.example/t.png)',
    );
    for (const tag of ["script", "img", "iframe", "b"]) {
      expect(c.querySelector(tag)).toBeNull();
    }
    expect(c.querySelector("[onerror],[onclick],[src]")).toBeNull();
    // The HTML shows as the text it is.
    expect(c.textContent).toContain("<script>alert(1)</script>");
    expect(c.textContent).toContain("pic");
  });

  it("bounds nesting", () => {
    const deep = `${">".repeat(500)} deep`;
    const c = html(deep);
    expect(c.querySelectorAll("blockquote").length).toBeLessThanOrEqual(MAX_DEPTH);
    expect(c.textContent).toContain("deep");
    const lists = html(
      `${Array.from({ length: 60 }, (_, i) => `${"  ".repeat(i)}- l${i}`).join("\n")}`,
    );
    let depth = 0;
    let n: Element | null = lists.querySelector("ul");
    while (n) {
      depth++;
      n = n.querySelector(":scope > li > ul");
    }
    expect(depth).toBeLessThanOrEqual(MAX_DEPTH);
    expect(lists.textContent).toContain("l59");
    const stars = html(`${"*_".repeat(300)}x${"_*".repeat(300)}`);
    expect(maxDepth(stars)).toBeLessThanOrEqual(MAX_DEPTH + 3);
    // Thousands of list markers on a line: cut before parsing, words kept.
    const bullets = html(`${"- ".repeat(1990)}deep list`);
    expect(bullets.querySelectorAll("ul").length).toBeLessThanOrEqual(MAX_DEPTH + 2);
    expect(bullets.textContent).toContain("deep list");
  });

  it("shows a message with too many emphasis characters as plain text", () => {
    const few = html(`${"*a* ".repeat(MAX_DELIMITERS / 2)}`);
    expect(few.querySelectorAll("em").length).toBe(MAX_DELIMITERS / 2);
    const text = `**not bold** ${"*a".repeat(MAX_DELIMITERS)}`;
    const many = html(text);
    expect(many.querySelector("strong, em")).toBeNull();
    expect(many.textContent).toBe(text);
  });

  it("keeps mentions, but not inside code or links", () => {
    const c = html("hi @alice and @bob `@carol` [@dave](https://x.example)", "bob");
    const mentions = [...c.querySelectorAll(".mention")].map((e) => e.textContent);
    expect(mentions).toEqual(["@alice", "@bob"]);
    expect(c.querySelector(".mention-me")?.textContent).toBe("@bob");
  });

  it("safeUrl", () => {
    expect(safeUrl("https://a.example")).toBe("https://a.example");
    expect(safeUrl(" javascript:alert(1)")).toBe("");
    expect(safeUrl("java\nscript:alert(1)")).toBe("");
    expect(safeUrl("//evil.example")).toBe("");
  });
});

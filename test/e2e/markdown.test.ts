/**
 * Hostile Markdown in a real browser: Mallory sends messages built to run
 * script or wreck the page (javascript:, data: and vbscript: links in every
 * spelling Markdown allows, raw HTML with event handlers, <script>, <iframe>,
 * thousands of levels of quotes, lists and emphasis, a 4000-character word)
 * and Victim's page, which renders them from the feed, must run none of it,
 * carry no on* attribute and no unsafe link, and still render the next
 * message. Safe links in the same messages must stay links, so the link
 * checks cannot pass on a page that shows no links at all.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { startServer, type TestServer } from "../support/server.js";
import {
  buildWeb,
  composer,
  DESKTOP,
  launchChromium,
  message,
  screenshot,
  webDist,
} from "./browser.js";

let env: TestEnv;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** What a page saw of script: dialogs opened and page errors. */
interface Watch {
  dialogs: string[];
  errors: string[];
}

/**
 * A page whose every payload, if it ran, leaves a trace: `window.__pwned`
 * (set by the payloads themselves) and any alert/confirm/prompt dialog.
 */
async function newUserPage(): Promise<{ page: Page; watch: Watch }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watch: Watch = { dialogs: [], errors: [] };
  page.on("dialog", (d) => {
    watch.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (err) => watch.errors.push(err.message));
  // A popup would be a link followed or window.open run by a payload.
  context.on("page", (p) => watch.dialogs.push(`popup ${p.url()}`));
  return { page, watch };
}

async function register(page: Page, username: string): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("tab", { name: "Register" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

const PWN = "window.__pwned=(window.__pwned||0)+1;alert(1)";

/** Each is sent as one message; `marker` is plain text in it to find it by. */
const hostile: { marker: string; text: string }[] = [
  {
    marker: "m-links",
    text: [
      "m-links",
      `[js](javascript:${PWN})`,
      `[js-case](JaVaScRiPt:${PWN})`,
      `[js-entity](&#106;avascript:${PWN})`,
      `[js-space](  javascript:${PWN})`,
      "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
      "[vb](vbscript:msgbox(1))",
      `<javascript:${PWN}>`,
      `[ref link][evil]\n\n[evil]: javascript:${PWN}`,
      `![img](javascript:${PWN})`,
      "[safe https](https://example.com/ok) and [mail](mailto:someone@example.com)",
    ].join("\n\n"),
  },
  {
    marker: "m-html",
    text: [
      "m-html",
      `<img src=x onerror="${PWN}">`,
      `<script>${PWN}</script>`,
      `<iframe src="javascript:${PWN}"></iframe>`,
      `<iframe srcdoc="<script>parent.${PWN}</script>"></iframe>`,
      `<svg onload="${PWN}"><circle r=1 /></svg>`,
      `<a href="javascript:${PWN}" onclick="${PWN}">raw anchor</a>`,
      `<div style="width:9999px" onmouseover="${PWN}">hover</div>`,
      `<details open ontoggle="${PWN}">x</details>`,
      '<object data="data:text/html,<script>alert(1)</script>"></object>',
      "[after html](http://example.com/after)",
    ].join("\n\n"),
  },
  // Thousands of levels; each stays within the 4000-character limit.
  { marker: "m-quotes", text: `m-quotes\n\n${">".repeat(3900)} deep quote` },
  { marker: "m-lists", text: `m-lists\n\n${"- ".repeat(1990)}deep list` },
  { marker: "m-mixed", text: `m-mixed\n\n${"> - ".repeat(995)}deep mix` },
  { marker: "m-emph", text: `m-emph ${"*_".repeat(990)}x${"_*".repeat(990)}` },
  { marker: "m-stars", text: `m-stars ${"*a".repeat(1990)}` },
  { marker: "m-long", text: `m-long ${"W".repeat(3990)}` },
];

/** Everything the page's DOM says about script and links, read in the page. */
async function audit(page: Page) {
  return page.evaluate(() => {
    const all = [...document.querySelectorAll("*")];
    const onAttrs = all.flatMap((el) =>
      [...el.attributes]
        .filter((a) => a.name.toLowerCase().startsWith("on"))
        .map((a) => `${el.tagName}[${a.name}]`),
    );
    const texts = [...document.querySelectorAll("[data-testid=message-text]")];
    const inTexts = (sel: string) => texts.flatMap((t) => [...t.querySelectorAll(sel)]);
    const links = inTexts("a").map((a) => ({
      href: a.getAttribute("href") ?? "",
      protocol: (a as HTMLAnchorElement).protocol,
      rel: a.getAttribute("rel") ?? "",
      target: a.getAttribute("target") ?? "",
    }));
    const active = inTexts("script, iframe, object, embed, img, svg, style, form, input, video");
    // Deepest element nesting inside a message text.
    let maxDepth = 0;
    for (const t of texts) {
      const walk = (el: Element, d: number) => {
        if (d > maxDepth) maxDepth = d;
        for (const c of el.children) walk(c, d + 1);
      };
      walk(t, 0);
    }
    const w = window as unknown as { __pwned?: number };
    return {
      pwned: w.__pwned ?? 0,
      onAttrs,
      links,
      active: active.map((e) => e.tagName),
      maxDepth,
      pageWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    };
  });
}

describe("hostile Markdown in Chromium", () => {
  beforeAll(async () => {
    buildWeb();
    env = await createTestEnv({ redis: true });
    server = await startServer(env, { webDir: webDist });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await env?.close();
  });

  it("runs no script, keeps only safe links and stays responsive", {
    timeout: 240_000,
  }, async () => {
    const m = await newUserPage();
    const v = await newUserPage();
    await register(m.page, "mallory");
    await register(v.page, "victim");

    await m.page.getByRole("button", { name: "New room" }).click();
    await m.page.getByLabel("Name", { exact: true }).fill("lobby");
    await m.page.getByRole("button", { name: "Create room" }).click();
    await m.page.locator(".room-head h1", { hasText: "lobby" }).waitFor();
    await v.page.getByRole("button", { name: "Browse rooms" }).click();
    await v.page.getByLabel("Search rooms").fill("lobby");
    await v.page.getByRole("button", { name: "Join lobby" }).click();
    await v.page.locator(".room-head h1", { hasText: "lobby" }).waitFor();

    for (const h of hostile) {
      await composer(m.page).fill(h.text);
      await composer(m.page).press("Enter");
      // Victim's page renders it from the feed, then must still be well.
      await message(v.page, h.marker).waitFor();
    }
    // Responsive after all of it: a plain message sent afterwards renders,
    // and the page answers a script round trip promptly.
    await composer(m.page).fill("still **alive** after the storm");
    await composer(m.page).press("Enter");
    await message(v.page, "alive after the storm").waitFor();
    expect(await message(v.page, "alive after the storm").locator("strong").textContent()).toBe(
      "alive",
    );
    // Hover and click what the payloads hoped would be clicked.
    await message(v.page, "m-html").getByText("onmouseover").first().hover();
    await message(v.page, "m-links").getByText("js", { exact: true }).click();
    await message(v.page, "m-html").getByText("raw anchor").first().click();
    await screenshot(v.page, "markdown-01-hostile");

    for (const side of [v, m]) {
      const r = await audit(side.page);
      expect(r.pwned).toBe(0);
      expect(side.watch.dialogs).toEqual([]);
      expect(r.onAttrs).toEqual([]);
      expect(r.active).toEqual([]);
      // Only the safe links are links, each with the safe rel and a new tab.
      expect(r.links.map((l) => l.href).sort()).toEqual([
        "http://example.com/after",
        "https://example.com/ok",
        "mailto:someone@example.com",
      ]);
      for (const l of r.links) {
        expect(["http:", "https:", "mailto:"]).toContain(l.protocol);
        expect(l.rel).toBe("noopener noreferrer nofollow");
        expect(l.target).toBe("_blank");
      }
      // Nesting is flattened well before the thousands sent.
      expect(r.maxDepth).toBeLessThan(40);
      // The 4000-character word wraps instead of widening the page.
      expect(r.pageWidth).toBeLessThanOrEqual(r.viewport);
      expect(side.watch.errors).toEqual([]);
    }
    // Raw HTML shows as the text it is.
    expect(await message(v.page, "m-html").textContent()).toContain("<script>");
    // The deep structures' words are still there, as text.
    for (const [marker, words] of [
      ["m-quotes", "deep quote"],
      ["m-lists", "deep list"],
      ["m-mixed", "deep mix"],
    ]) {
      expect(await message(v.page, marker as string).textContent()).toContain(words);
    }
  });
});

/**
 * Search, open in context and seen-by in a real browser: Alice writes
 * 今天天气很好 in a small room, Bob (elsewhere) searches 天气, clicks the hit,
 * lands in the room on that message, highlighted, and sees that Alice has
 * read it.
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

async function newUserPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  return page;
}

async function register(page: Page, username: string, displayName: string): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("tab", { name: "Register" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name (optional)").fill(displayName);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

async function createRoom(page: Page, name: string): Promise<void> {
  await page.getByRole("button", { name: "New room" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create room" }).click();
  await page.locator(".room-head h1", { hasText: name }).waitFor();
}

describe("search in Chromium", () => {
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

  it("finds 今天天气很好 by 天气 and opens it in context, seen by its sender", {
    timeout: 120_000,
  }, async () => {
    const alice = await newUserPage();
    await register(alice, "alice", "Alice");
    const bob = await newUserPage();
    await register(bob, "bob", "Bob");

    await createRoom(alice, "weather");
    await bob.getByRole("button", { name: "Browse rooms" }).click();
    await bob.getByLabel("Search rooms").fill("weather");
    await bob.getByRole("button", { name: "Join weather" }).click();
    await bob.locator(".room-head h1", { hasText: "weather" }).waitFor();
    await alice.locator("li.system", { hasText: "Bob joined" }).waitFor();

    // Bob goes elsewhere; Alice writes (and, seeing it, reads) the message.
    await createRoom(bob, "notes");
    await composer(alice).fill("今天天气很好");
    await composer(alice).press("Enter");
    await message(alice, "今天天气很好").and(alice.locator("[data-status=sent]")).waitFor();

    // Bob searches (the index may trail the write a moment: search again).
    await bob.getByRole("button", { name: "Search", exact: true }).click();
    const box = bob.getByRole("searchbox", { name: "Search messages" });
    await box.fill("天气");
    const hit = bob.getByTestId("search-hit").filter({ hasText: "很好" });
    const deadline = Date.now() + 20_000;
    for (;;) {
      await box.press("Enter");
      try {
        await hit.first().waitFor({ timeout: 2_000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    expect(await hit.first().locator("mark").first().textContent()).toBe("天气");
    await screenshot(bob, "search-01-results");

    await hit.first().click();
    await bob.locator(".room-head h1", { hasText: "weather" }).waitFor();
    const found = message(bob, "今天天气很好");
    await found.and(bob.locator("[data-hit]")).waitFor();
    expect(await found.isVisible()).toBe(true);

    // Alice has read up to her message: her avatar is under it.
    await found.getByTestId("seen-by").filter({ hasText: "Seen by Alice" }).waitFor();
    await screenshot(bob, "search-02-in-context");
  });
});

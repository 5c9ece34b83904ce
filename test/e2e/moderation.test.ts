/**
 * Reports and blocks in a real browser: Mallory (over the API) writes spam
 * and an insult in Alice's room; Bob reports both from the message menu;
 * Alice opens the moderation queue from the room header, deletes the first
 * message and kicks Mallory for the second; Bob's page shows the message
 * gone and the removal line. Bob then blocks Mallory: her message collapses
 * for him alone, and "show" reveals it.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpTransport } from "../support/clients.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { startServer, type TestServer } from "../support/server.js";
import { newUser } from "../support/users.js";
import {
  buildWeb,
  composer,
  DESKTOP,
  launchChromium,
  message,
  messageAction,
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
  // The block confirmation.
  page.on("dialog", (d) => void d.accept());
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

async function report(page: Page, text: string, category: string, why: string): Promise<void> {
  await messageAction(page, text, "Report");
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Category").selectOption({ label: category });
  await dialog.getByLabel("What happened (optional)").fill(why);
  await dialog.getByRole("button", { name: "Send report" }).click();
  await dialog.getByText("Reported.").waitFor();
  await dialog.getByRole("button", { name: "Close", exact: true }).last().click();
  await dialog.waitFor({ state: "detached" });
}

describe("moderation in Chromium", () => {
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

  it("a report goes to the queue; the owner deletes and kicks; a block collapses for one reader", {
    timeout: 150_000,
  }, async () => {
    const alice = await newUserPage();
    await register(alice, "alice", "Alice");
    const bob = await newUserPage();
    await register(bob, "bob", "Bob");
    await alice.getByRole("button", { name: "New room" }).click();
    await alice.getByLabel("Name", { exact: true }).fill("town");
    await alice.getByRole("button", { name: "Create room" }).click();
    await alice.locator(".room-head h1", { hasText: "town" }).waitFor();
    await bob.getByRole("button", { name: "Browse rooms" }).click();
    await bob.getByLabel("Search rooms").fill("town");
    await bob.getByRole("button", { name: "Join town" }).click();
    await bob.locator(".room-head h1", { hasText: "town" }).waitFor();

    // Mallory joins and writes, over the API.
    const mallory = await newUser(httpTransport(server.url), "mallory");
    const listed = await mallory.rooms.listPublicRooms({ query: "town" });
    const roomId = listed.rooms[0]?.id ?? 0n;
    await mallory.rooms.joinRoom({ roomId });
    for (const [i, text] of ["buy cheap watches", "you are all idiots"].entries()) {
      await mallory.msgs.sendMessage({ roomId, text, clientMsgId: `mal${i}` });
    }
    await message(bob, "you are all idiots").waitFor();
    await composer(bob).fill("hm");
    await composer(bob).press("Enter");

    // Bob reports both.
    await report(bob, "buy cheap watches", "Spam", "watch spam");
    await report(bob, "you are all idiots", "Harassment", "rude");

    // Alice works through the queue.
    await alice.getByRole("button", { name: "Reports", exact: true }).click();
    const queue = alice.getByRole("complementary", { name: "Moderation queue" });
    const spam = queue.getByTestId("report").filter({ hasText: "buy cheap watches" });
    await spam.waitFor();
    expect(await spam.textContent()).toContain("reported by Bob");
    expect(await spam.textContent()).toContain("watch spam");
    expect(await queue.getByTestId("report").count()).toBe(2);
    await screenshot(alice, "moderation-01-queue");
    await spam.getByRole("button", { name: "Delete message" }).click();
    await spam.waitFor({ state: "detached" });
    // Bob sees it gone.
    await bob
      .locator("[data-testid=message-text].tombstone", { hasText: "This message was deleted." })
      .waitFor();
    expect(await message(bob, "buy cheap watches").count()).toBe(0);

    const insult = queue.getByTestId("report").filter({ hasText: "you are all idiots" });
    await insult.getByRole("button", { name: "Kick" }).click();
    await queue.getByText("No open reports.").waitFor();
    await bob.locator("li.system", { hasText: `Alice removed ${mallory.user.username}` }).waitFor();
    await screenshot(bob, "moderation-02-reporter");

    // Bob blocks Mallory: her message collapses for him, not for Alice.
    const item = message(bob, "you are all idiots");
    await item.hover();
    await item.getByRole("button", { name: `Block ${mallory.user.username}` }).click();
    const collapsed = bob.getByTestId("message-collapsed");
    await collapsed.waitFor();
    expect(await message(bob, "you are all idiots").count()).toBe(0);
    expect(await message(alice, "you are all idiots").count()).toBe(1);
    await screenshot(bob, "moderation-03-collapsed");
    await collapsed.getByRole("button", { name: "show" }).click();
    await message(bob, "you are all idiots").waitFor();
  });
});

/**
 * Files and threads in real browsers: two users in two Chromium pages
 * against the real server. Alice attaches an image, Bob sees its thumbnail
 * (fetched with his token) and the full-size view, replies in its thread;
 * Alice sees the reply count and the thread's unread badge, opens the thread
 * and sees the reply.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStorage } from "../../server/platform/storage/local-storage.js";
import { httpTransport } from "../support/clients.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { startServer, type TestServer } from "../support/server.js";
import { roomOfTwo, type TestUser } from "../support/users.js";
import { buildWeb, DESKTOP, launchChromium, screenshot, webDist } from "./browser.js";

const dir = join(tmpdir(), `protochat-e2e-files-${randomBytes(4).toString("hex")}`);
let env: TestEnv;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const cspViolations: string[] = [];

/** A page signed in as `user` (the token in the tab's sessionStorage), on `roomId`. */
async function pageOf(user: TestUser, roomId: bigint): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(msg.text())) {
      cspViolations.push(msg.text());
    }
  });
  await page.addInitScript((token: string) => {
    sessionStorage.setItem("protochat.token", token);
  }, user.token);
  await page.goto(`${server.url}/#/room/${roomId}`);
  await page.locator(".room-head h1").waitFor();
  return page;
}

/** A message of the main conversation (not the thread panel) by its text. */
function mainMessage(page: Page, text: string) {
  return page.locator(".conversation [data-testid=message]", {
    has: page.locator("[data-testid=message-text]", { hasText: text }),
  });
}

describe("files and threads in Chromium", () => {
  beforeAll(async () => {
    buildWeb();
    env = await createTestEnv({ redis: true });
    server = await startServer(env, {
      webDir: webDist,
      storage: new LocalStorage(dir),
      files: { maxFileBytes: 5 * 1024 * 1024, maxUserBytes: 20 * 1024 * 1024, maxImagePixels: 4e6 },
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await env?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("an image, its thumbnail, a thread reply and its count", { timeout: 120_000 }, async () => {
    const { alice, bob, room } = await roomOfTwo(httpTransport(server.url), "files");
    const a = await pageOf(alice, room);
    const b = await pageOf(bob, room);

    // Alice attaches an image: it uploads (progress, then ready) and is sent.
    const png = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 80, b: 40 } },
    })
      .png()
      .toBuffer();
    await a
      .getByTestId("file-input")
      .first()
      .setInputFiles({ name: "cat.png", mimeType: "image/png", buffer: png });
    await a.locator("[data-testid=upload-item][data-state=ready]").waitFor();
    await a.locator(".composer textarea").fill("look at this");
    await a.locator(".composer textarea").press("Enter");
    await a.locator("[data-testid=upload-item]").waitFor({ state: "detached" });

    // Bob sees the thumbnail (loaded with his token), then the full image.
    const thumb = mainMessage(b, "look at this").getByTestId("attachment-thumbnail");
    await thumb.waitFor();
    await expect
      .poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(320);
    await thumb.click();
    const full = b.getByTestId("full-image");
    await full.waitFor();
    await expect
      .poll(() => full.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(640);
    await screenshot(b, "files-01-full-image");
    await b.keyboard.press("Escape");
    await full.waitFor({ state: "detached" });

    // Bob replies in the thread.
    const root = mainMessage(b, "look at this");
    // (From the keyboard: the message is taller than the actions' hover area.)
    const replyInThread = root.getByRole("button", { name: "Reply in thread" });
    await replyInThread.focus();
    await replyInThread.press("Enter");
    const panel = b.getByTestId("thread-panel");
    await panel.waitFor();
    await panel.locator(".thread-composer textarea").fill("nice cat");
    await panel.locator(".thread-composer textarea").press("Enter");
    await panel.locator("[data-testid=message-text]", { hasText: "nice cat" }).waitFor();
    await root.getByTestId("reply-count").filter({ hasText: "1 reply" }).waitFor();

    // Alice sees the count and the unread badge; the reply stays out of the
    // main conversation; opening the thread shows it and clears the badge.
    const aliceRoot = mainMessage(a, "look at this");
    await aliceRoot.getByTestId("reply-count").filter({ hasText: "1 reply" }).waitFor();
    await aliceRoot.getByTestId("thread-unread").filter({ hasText: "1 new" }).waitFor();
    expect(await mainMessage(a, "nice cat").count()).toBe(0);
    await screenshot(a, "files-02-reply-count");
    await aliceRoot.getByTestId("thread-summary").click();
    await a
      .getByTestId("thread-panel")
      .locator("[data-testid=message-text]", { hasText: "nice cat" })
      .waitFor();
    await aliceRoot.getByTestId("thread-unread").waitFor({ state: "detached" });
    await screenshot(a, "files-03-thread");

    expect(cspViolations).toEqual([]);
  });
});

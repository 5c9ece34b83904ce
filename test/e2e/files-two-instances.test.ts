/**
 * Two people in two browsers on two instances sharing S3-compatible
 * storage: two server processes (`server/main.ts` configured by
 * environment, as production runs it) on one database, fanning out through
 * Redis, keeping files in one bucket of an s3rver started here on a free
 * port. Alice's Chromium is served by instance 1, Bob's by instance 2.
 *
 * Alice attaches an image through 1 and Bob sees its thumbnail and full
 * size through 2; Bob attaches a file through 2 and Alice downloads it
 * through 1, byte for byte; they talk in the image's thread; Bob unfollows
 * the thread (new replies leave no badge), follows it again (the next one
 * does).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import S3rver from "s3rver";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Storage } from "../../server/platform/storage/s3-storage.js";
import { httpTransport } from "../support/clients.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { envServerProcess, type ServerProcess } from "../support/processes.js";
import { roomOfTwo, type TestUser } from "../support/users.js";
import { buildWeb, DESKTOP, launchChromium, screenshot, webDist } from "./browser.js";

const bucket = "protochat-e2e";
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
let s3: S3rver;
let s3Dir: string;
let probe: S3Storage;
let env: TestEnv;
const servers: ServerProcess[] = [];
let browser: Browser;
const contexts: BrowserContext[] = [];
const cspViolations: string[] = [];

/** A page of `server`'s web client signed in as `user` (token in sessionStorage), on `roomId`. */
async function pageOf(server: ServerProcess, user: TestUser, roomId: bigint): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
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

/** Sends `text` from the open thread panel's composer. */
async function replyInPanel(page: Page, text: string): Promise<void> {
  const panel = page.getByTestId("thread-panel");
  await panel.locator(".thread-composer textarea").fill(text);
  await panel.locator(".thread-composer textarea").press("Enter");
  await panel.locator("[data-testid=message-text]", { hasText: text }).waitFor();
}

describe("files, images and a thread across two instances on S3", () => {
  beforeAll(async () => {
    buildWeb();
    s3Dir = await mkdtemp(join(tmpdir(), "s3rver-e2e-"));
    s3 = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: s3Dir,
      configureBuckets: [{ name: bucket }],
    });
    const { port } = await s3.run();
    const endpoint = `http://127.0.0.1:${port}`;
    probe = new S3Storage({
      bucket,
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
    });
    // Only the database rows are read here (the servers are processes of their own): no send pool.
    env = await createTestEnv({ redis: true, sendPool: false });
    // Exactly the settings an operator sets for several instances (README "Files and images").
    const vars = {
      WEB_DIR: webDist,
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: "us-east-1",
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      // Nothing may land on local disk: a directory no instance could share.
      STORAGE_DIR: join(s3Dir, "not-used"),
    };
    servers.push(
      ...(await Promise.all([envServerProcess(env, vars), envServerProcess(env, vars)])),
    );
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    for (const s of servers) await s.stop();
    await env?.close();
    probe?.close();
    await s3?.close();
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });

  it("exchanges an image and a file and talks in a thread", { timeout: 180_000 }, async () => {
    const [one, two] = servers as [ServerProcess, ServerProcess];
    const { alice, bob, room } = await roomOfTwo(httpTransport(one.url), "s3e2e");
    const a = await pageOf(one, alice, room);
    const b = await pageOf(two, bob, room);

    // Alice attaches an image through instance 1.
    const png = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 40, g: 120, b: 200 } },
    })
      .png()
      .toBuffer();
    await a
      .getByTestId("file-input")
      .first()
      .setInputFiles({ name: "lake.png", mimeType: "image/png", buffer: png });
    await a.locator("[data-testid=upload-item][data-state=ready]").waitFor();
    await a.locator(".composer textarea").fill("the lake");
    await a.locator(".composer textarea").press("Enter");
    await a.locator("[data-testid=upload-item]").waitFor({ state: "detached" });

    // Bob, on instance 2, sees its thumbnail and the full image (read from the bucket).
    const thumb = mainMessage(b, "the lake").getByTestId("attachment-thumbnail");
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
    await b.keyboard.press("Escape");
    await full.waitFor({ state: "detached" });

    // Bob attaches a file that is no image through instance 2.
    const data = randomBytes(200_000);
    await b
      .getByTestId("file-input")
      .first()
      .setInputFiles({ name: "survey.bin", mimeType: "application/octet-stream", buffer: data });
    await b.locator("[data-testid=upload-item][data-state=ready]").waitFor();
    await b.locator(".composer textarea").fill("the survey data");
    await b.locator(".composer textarea").press("Enter");
    await b.locator("[data-testid=upload-item]").waitFor({ state: "detached" });

    // Alice, on instance 1, sees a file card and downloads it: the same bytes.
    const card = mainMessage(a, "the survey data").getByTestId("file-card");
    await card.waitFor();
    await expect(card.textContent()).resolves.toContain("survey.bin");
    const [download] = await Promise.all([
      a.waitForEvent("download"),
      card.getByRole("button", { name: "Download survey.bin" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("survey.bin");
    const saved = await download.path();
    expect((await readFile(saved)).equals(data)).toBe(true);
    // The URLs messages carry work through either instance, fetched in each
    // page with its own token: the image (uploaded through 1), its
    // thumbnail, the file (uploaded through 2).
    const history = await alice.msgs.listMessages({ roomId: room, limit: 10 });
    const atts = history.messages.flatMap((m) => m.attachments);
    const image = atts.find((x) => x.name === "lake.png");
    const file = atts.find((x) => x.name === "survey.bin");
    const paths = [image?.url, image?.image?.thumbnailUrl, file?.url].map((u) => u ?? "missing");
    const digestsIn = (page: Page) =>
      page.evaluate(async (urls: string[]) => {
        const token = sessionStorage.getItem("protochat.token") ?? "";
        const out: string[] = [];
        for (const url of urls) {
          const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
          const hash = await crypto.subtle.digest("SHA-256", await res.arrayBuffer());
          out.push(
            `${res.status} ${[...new Uint8Array(hash)].map((x) => x.toString(16).padStart(2, "0")).join("")}`,
          );
        }
        return out;
      }, paths);
    const sha = (bytes: Buffer) => `200 ${createHash("sha256").update(bytes).digest("hex")}`;
    const fromOne = await digestsIn(a);
    expect(fromOne.map((d) => d.split(" ")[0])).toEqual(["200", "200", "200"]);
    expect(fromOne[2]).toBe(sha(data));
    expect(await digestsIn(b)).toEqual(fromOne);
    await screenshot(a, "files-two-01-file-card");

    // Every object is in the bucket (image, its thumbnail, the file), none on local disk.
    const stored = await env.prisma.upload.findMany({
      where: { ownerId: { in: [alice.id, bob.id] } },
      select: { storageKey: true, thumbKey: true },
    });
    const keys = stored.flatMap((r) => [r.storageKey, ...(r.thumbKey ? [r.thumbKey] : [])]);
    expect(keys).toHaveLength(3);
    for (const k of keys) expect(await probe.size(k)).toBeGreaterThan(0);

    // Bob opens the image's thread and replies; he follows it now.
    const bobRoot = mainMessage(b, "the lake");
    const replyInThread = bobRoot.getByRole("button", { name: "Reply in thread" });
    await replyInThread.focus();
    await replyInThread.press("Enter");
    const bobPanel = b.getByTestId("thread-panel");
    await bobPanel.waitFor();
    await replyInPanel(b, "where is this?");
    const bobFollow = bobPanel.getByTestId("thread-follow");
    await expect.poll(() => bobFollow.textContent()).toBe("Following");
    await bobRoot.getByTestId("reply-count").filter({ hasText: "1 reply" }).waitFor();

    // Alice sees the count and the unread badge, opens the thread and answers.
    const aliceRoot = mainMessage(a, "the lake");
    await aliceRoot.getByTestId("reply-count").filter({ hasText: "1 reply" }).waitFor();
    await aliceRoot.getByTestId("thread-unread").filter({ hasText: "1 new" }).waitFor();
    expect(await mainMessage(a, "where is this?").count()).toBe(0);
    await aliceRoot.getByTestId("thread-summary").click();
    const alicePanel = a.getByTestId("thread-panel");
    await alicePanel.locator("[data-testid=message-text]", { hasText: "where is this?" }).waitFor();
    await expect
      .poll(() => alicePanel.getByTestId("thread-follow").textContent())
      .toBe("Following");
    await aliceRoot.getByTestId("thread-unread").waitFor({ state: "detached" });
    await replyInPanel(a, "Lake Bled");

    // Bob sees it in his open thread.
    await bobPanel.locator("[data-testid=message-text]", { hasText: "Lake Bled" }).waitFor();
    await bobRoot.getByTestId("reply-count").filter({ hasText: "2 replies" }).waitFor();
    await screenshot(b, "files-two-02-thread");

    // Bob unfollows and closes the thread: Alice's next reply leaves him no badge.
    await bobFollow.click();
    await expect.poll(() => bobFollow.getAttribute("aria-pressed")).toBe("false");
    await bobPanel.getByRole("button", { name: "Close thread" }).click();
    await bobPanel.waitFor({ state: "detached" });
    await replyInPanel(a, "in Slovenia");
    await bobRoot.getByTestId("reply-count").filter({ hasText: "3 replies" }).waitFor();
    const threadsButton = b.getByTestId("threads-button");
    await threadsButton.click();
    await b.locator(".threads-menu").getByText("No followed threads in this room.").waitFor();
    await threadsButton.click();
    expect(await bobRoot.getByTestId("thread-unread").count()).toBe(0);

    // He follows it again (opening it read it up to the newest reply); the next reply shows a badge.
    await bobRoot.getByTestId("thread-summary").click();
    await bobPanel.locator("[data-testid=message-text]", { hasText: "in Slovenia" }).waitFor();
    await expect.poll(() => bobFollow.textContent()).toBe("Follow");
    await bobFollow.click();
    await expect.poll(() => bobFollow.getAttribute("aria-pressed")).toBe("true");
    await bobPanel.getByRole("button", { name: "Close thread" }).click();
    await bobPanel.waitFor({ state: "detached" });
    await replyInPanel(a, "see you there");
    await bobRoot.getByTestId("thread-unread").filter({ hasText: "1 new" }).waitFor();
    await threadsButton.locator(".thread-unread").filter({ hasText: "1" }).waitFor();
    await screenshot(b, "files-two-03-followed-again");

    expect(cspViolations).toEqual([]);
  });
});

/**
 * Real-browser fixtures for the end-to-end tests: Debian's Chromium driven
 * by playwright-core (no downloaded browser builds), the web client built
 * once per run, screenshots under test-results/screenshots/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const webDist = join(repoRoot, "web", "dist");
export const screenshotDir = join(repoRoot, "test-results", "screenshots");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Builds the web client into web/dist (what the server serves). */
export function buildWeb(): void {
  execFileSync("npx", ["--no-install", "vite", "build", "--config", "web/vite.config.ts"], {
    cwd: repoRoot,
    stdio: "pipe",
  });
  if (!existsSync(join(webDist, "index.html"))) throw new Error("web build produced no index.html");
}

/** Launches headless Chromium with a fresh (temporary) profile. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run scripts/ensure-chromium.sh (apt-get install chromium)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Saves a screenshot of the page as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Polls `read` until it equals `expected` (deep, via JSON); returns the last value. */
export async function eventually<T>(
  read: () => Promise<T>,
  expected: T,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/** Texts of the messages shown in the open room (confirmed and pending). */
export function messageTexts(page: Page): Promise<string[]> {
  return page
    .locator("[data-testid=message] [data-testid=message-text]")
    .evaluateAll((els) =>
      els.map((e) => (e.textContent ?? "").replace(/\s*\(edited\)$/, "").trim()),
    );
}

/** The message item whose text contains `text`. */
export function message(page: Page, text: string): Locator {
  return page.locator("[data-testid=message]", {
    has: page.locator("[data-testid=message-text]", { hasText: text }),
  });
}

/** Runs one of a message's hover actions (Reply, React, Edit, Delete). */
export async function messageAction(page: Page, text: string, action: string): Promise<void> {
  const item = message(page, text);
  await item.hover();
  await item.getByRole("button", { name: action, exact: true }).click();
}

/** The room list entry of a room. */
export function roomEntry(page: Page, name: string): Locator {
  return page.locator(`a.room-item[data-room-name="${name}"]`);
}

export function composer(page: Page): Locator {
  return page.locator(".composer textarea");
}

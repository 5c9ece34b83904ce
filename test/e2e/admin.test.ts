/**
 * The admin page (/admin) in Chromium against the real server: the API key
 * typed in and kept for the tab only, live statistics, rooms and users with
 * their actions (disabling a user here ends their session), the audit log.
 * Built into a directory of its own, so it never races the chat e2e build.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { newApiKey } from "../support/admin.js";
import { authed, httpTransport } from "../support/clients.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { expectCode } from "../support/errors.js";
import { startServer, type TestServer } from "../support/server.js";
import { newRoom, newUser } from "../support/users.js";
import { launchChromium, repoRoot, screenshot } from "./browser.js";

let env: TestEnv;
let server: TestServer;
let browser: Browser;
const outDir = mkdtempSync(join(tmpdir(), "protochat-admin-web-"));

beforeAll(async () => {
  execFileSync(
    "npx",
    [
      "--no-install",
      "vite",
      "build",
      "--config",
      "web/vite.config.ts",
      "--outDir",
      outDir,
      "--emptyOutDir",
    ],
    { cwd: repoRoot, stdio: "pipe" },
  );
  env = await createTestEnv({});
  server = await startServer(env, { webDir: outDir });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
  rmSync(outDir, { recursive: true, force: true });
});

it("an operator with a key sees statistics, acts on users and rooms, and reads the audit log", async () => {
  const t = httpTransport(server.url);
  const carol = await newUser(t, "carol");
  await newRoom(carol, [], undefined, "lobby");
  const { key } = await newApiKey(env.prisma, "web-ops");
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
  });

  await page.goto(`${server.url}/admin`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Open" }).click();
  await page.getByRole("region", { name: "Statistics" }).waitFor();
  await page.getByText(/^lobby /).waitFor();
  // Kept for this tab: sessionStorage, never localStorage.
  expect(await page.evaluate(() => sessionStorage.getItem("protochat.adminKey"))).toBe(key);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  const row = page.getByTestId(`user-${carol.username}`);
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByText("disabled").waitFor();
  await expectCode(authed(UserService, t, carol.token).getMe({}), Code.Unauthenticated);
  await row.getByRole("button", { name: "Enable" }).click();
  await row.getByRole("button", { name: "Disable" }).waitFor();

  const audit = page.getByRole("region", { name: "Audit log" });
  await audit.getByText("DisableUser").first().waitFor();
  await audit.getByText("EnableUser").first().waitFor();
  await screenshot(page, "admin-page");

  // A reload keeps the key (same tab); a new tab does not have it.
  await page.reload();
  await page.getByRole("region", { name: "Statistics" }).waitFor();
  const other = await context.newPage();
  await other.goto(`${server.url}/admin`);
  await other.getByLabel("API key").waitFor();
  expect(errors).toEqual([]);
  await context.close();
}, 120_000);

/**
 * Limits and consent in a real browser. Slow mode: Alice (owner) sets 3 s in
 * the room settings; Bob sends twice in a row, the second send is refused
 * with RetryInfo, his composer keeps the text and counts down, and once the
 * count ends the send goes through; Alice's own sends are not slowed.
 * Mute: Alice mutes Bob from the members panel; he sees until when, then
 * the unmute. Consent: Bob says nobody may add him, Alice's invite becomes an
 * invitation, and Bob accepts it in the sidebar. Archive: Alice archives
 * that room after a confirmation; it is read-only for both.
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
  roomEntry,
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

async function createRoom(page: Page, name: string, visibility = "Public"): Promise<void> {
  await page.getByRole("button", { name: "New room" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("radio", { name: new RegExp(`^${visibility}:`) }).check();
  await page.getByRole("button", { name: "Create room" }).click();
  await page.locator(".room-head h1", { hasText: name }).waitFor();
}

/** The number in "You can send again in N s", or 0 when no countdown shows. */
async function countdown(page: Page): Promise<number> {
  const notice = page.getByTestId("send-limit");
  if ((await notice.count()) === 0) return 0;
  const text = (await notice.textContent().catch(() => "")) ?? "";
  return Number(/in (\d+) s/.exec(text)?.[1] ?? 0);
}

describe("limits in Chromium", () => {
  let alice: Page;
  let bob: Page;

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

  it("slow mode: a member's second send counts down, keeps its text, then goes; the owner is exempt", {
    timeout: 120_000,
  }, async () => {
    alice = await newUserPage();
    await register(alice, "alice", "Alice");
    bob = await newUserPage();
    await register(bob, "bob", "Bob");

    await createRoom(alice, "slowroom");
    await bob.getByRole("button", { name: "Browse rooms" }).click();
    await bob.getByLabel("Search rooms").fill("slowroom");
    await bob.getByRole("button", { name: "Join slowroom" }).click();
    await bob.locator(".room-head h1", { hasText: "slowroom" }).waitFor();

    // The owner turns slow mode on: one click on 3 s.
    await alice.getByRole("button", { name: "Settings" }).click();
    const settings = alice.getByRole("dialog", { name: "Room settings" });
    await settings.getByRole("radio", { name: "3 s" }).click();
    await settings.getByTestId("slow-mode-current").filter({ hasText: "Slow mode: 3 s" }).waitFor();
    await screenshot(alice, "limits-01-slow-mode-setting");
    await settings.getByRole("button", { name: "Close" }).click();

    // Everyone sees it in the header.
    await bob.locator(".room-head", { hasText: "Slow mode: 3 s" }).waitFor();

    // Two sends in a row: the second comes well within 3 s of the first.
    await composer(bob).fill("first, allowed");
    await composer(bob).press("Enter");
    await composer(bob).fill("second, too soon");
    await composer(bob).press("Enter");
    await message(bob, "first, allowed").and(bob.locator("[data-status=sent]")).waitFor();
    const notice = bob.getByTestId("send-limit");
    await notice.filter({ hasText: /^You can send again in [1-3] s$/ }).waitFor();
    expect(await composer(bob).inputValue()).toBe("second, too soon");
    expect(await bob.getByRole("button", { name: "Send", exact: true }).isDisabled()).toBe(true);
    expect(await message(bob, "second, too soon").count()).toBe(0);
    await screenshot(bob, "limits-02-countdown");

    // The count goes down, then the notice goes and the text is still there.
    const first = await countdown(bob);
    await bob.waitForFunction(
      (n) => {
        const m = /in (\d+) s/.exec(
          document.querySelector("[data-testid=send-limit]")?.textContent ?? "",
        );
        return !m || Number(m[1]) < n;
      },
      first,
      { timeout: 10_000 },
    );
    await notice.waitFor({ state: "detached", timeout: 10_000 });
    expect(await composer(bob).inputValue()).toBe("second, too soon");
    await composer(bob).press("Enter");
    await message(bob, "second, too soon").and(bob.locator("[data-status=sent]")).waitFor();
    expect(await composer(bob).inputValue()).toBe("");

    // The owner is exempt: two sends in a row both go, no countdown.
    await composer(alice).fill("owner one");
    await composer(alice).press("Enter");
    await composer(alice).fill("owner two");
    await composer(alice).press("Enter");
    await message(alice, "owner one").and(alice.locator("[data-status=sent]")).waitFor();
    await message(alice, "owner two").and(alice.locator("[data-status=sent]")).waitFor();
    expect(await alice.getByTestId("send-limit").count()).toBe(0);
    expect(await composer(alice).inputValue()).toBe("");
  });

  it("mute from the members panel: the member sees until when, and the unmute", {
    timeout: 60_000,
  }, async () => {
    await alice.getByRole("button", { name: "Members" }).click();
    const row = alice.locator("[data-testid=member][data-username=bob]");
    await row.getByLabel("Actions for Bob").click();
    await row.getByRole("button", { name: "Mute 10 minutes" }).click();
    await row.getByTestId("muted-until").waitFor();

    // Bob learns it from the member_muted event: he reads, he cannot send.
    const muted = bob.locator("[data-testid=send-limit][data-kind=muted]");
    await muted.filter({ hasText: /^You are muted in this room until \d\d:\d\d/ }).waitFor();
    await composer(bob).fill("while muted");
    expect(await bob.getByRole("button", { name: "Send", exact: true }).isDisabled()).toBe(true);
    await screenshot(bob, "limits-04-muted");
    await screenshot(alice, "limits-05-members-panel");

    await row.getByLabel("Actions for Bob").click();
    await row.getByRole("button", { name: "Unmute Bob" }).click();
    await row.getByTestId("muted-until").waitFor({ state: "detached" });
    await muted.waitFor({ state: "detached" });
    expect(await bob.getByRole("button", { name: "Send", exact: true }).isEnabled()).toBe(true);
    expect(await composer(bob).inputValue()).toBe("while muted");
    await alice.getByRole("button", { name: "Close members" }).click();
  });

  it("consent: an invitation to someone who asks first, accepted in the sidebar", {
    timeout: 120_000,
  }, async () => {
    // Bob: nobody adds me without asking.
    await bob.getByRole("button", { name: "Privacy" }).click();
    const privacy = bob.getByRole("dialog", { name: "Privacy" });
    await privacy.getByRole("radio", { name: "Nobody: always ask me first" }).check();
    await privacy.getByRole("button", { name: "Save" }).click();
    await privacy.getByText("Saved.").waitFor();
    await privacy.getByRole("button", { name: "Close", exact: true }).first().click();

    // Alice creates a private room and invites Bob: he gets an invitation.
    await createRoom(alice, "club", "Private");
    await alice.getByRole("button", { name: "Invite" }).click();
    const invite = alice.getByRole("dialog", { name: "Invite people" });
    await invite.getByLabel("Find people").fill("bob");
    await invite.getByRole("button", { name: /@bob/ }).click();
    await invite.getByRole("button", { name: "Invite", exact: true }).click();
    await invite.getByRole("status").filter({ hasText: "Bob asks before being added" }).waitFor();
    await invite.getByRole("button", { name: "Done" }).click();
    await invite.waitFor({ state: "detached" });
    expect(await roomEntry(bob, "club").count()).toBe(0);

    // The sidebar asks for invitations every few seconds.
    const accept = bob.getByRole("button", { name: "Accept invitation to club" });
    await accept.waitFor({ timeout: 30_000 });
    await screenshot(bob, "limits-03-invitation");
    await accept.click();
    await roomEntry(bob, "club").waitFor();
    await bob.locator(".room-head h1", { hasText: "club" }).waitFor();
    await bob.getByRole("region", { name: "Invitations" }).waitFor({ state: "detached" });
    await alice.locator("li.system", { hasText: "Bob joined" }).waitFor();
  });

  it("archive: the owner confirms, and the room is read-only for everyone", {
    timeout: 60_000,
  }, async () => {
    await alice.locator(".room-head h1", { hasText: "club" }).waitFor();
    await alice.getByRole("button", { name: "Settings" }).click();
    await alice
      .getByRole("dialog", { name: "Room settings" })
      .getByRole("button", { name: "Archive room…" })
      .click();
    const confirm = alice.getByRole("dialog", { name: "Archive this room?" });
    await confirm.getByRole("button", { name: "Archive room", exact: true }).click();
    await confirm.waitFor({ state: "detached" });
    for (const page of [alice, bob]) {
      await page.locator(".room-head", { hasText: "archived (read-only)" }).waitFor();
      const box = page.getByPlaceholder("This room is read-only");
      await box.waitFor();
      expect(await box.isDisabled()).toBe(true);
    }
    await screenshot(bob, "limits-06-archived");
  });
});

/**
 * The whole chat in real browsers: two users in two Chromium contexts
 * against the real server (MariaDB + Redis), talking live, then across a
 * server restart on the same port with nothing lost or doubled.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService } from "../../gen/chat/v1/room_pb.js";
import { authed, httpTransport } from "../support/clients.js";
import { createTestEnv, type TestEnv } from "../support/env.js";
import { startServer, type TestServer } from "../support/server.js";
import { signUp } from "../support/users.js";
import {
  buildWeb,
  composer,
  DESKTOP,
  eventually,
  launchChromium,
  message,
  messageAction,
  messageTexts,
  PHONE,
  roomEntry,
  screenshot,
  webDist,
} from "./browser.js";

let env: TestEnv;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** Content-Security-Policy violations the pages reported (there must be none). */
const cspViolations: string[] = [];

/** Most feed streams a page had open at once, by page. */
const maxFeeds = new Map<Page, number>();

function watchFeeds(page: Page): void {
  let open = 0;
  maxFeeds.set(page, 0);
  const isFeed = (u: string) => u.includes("/chat.v1.FeedService/Subscribe");
  page.on("request", (req) => {
    if (!isFeed(req.url())) return;
    open += 1;
    maxFeeds.set(page, Math.max(maxFeeds.get(page) ?? 0, open));
  });
  const done = (req: { url(): string }) => {
    if (isFeed(req.url())) open -= 1;
  };
  page.on("requestfinished", done);
  page.on("requestfailed", done);
}

async function newUserPage(viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(msg.text())) {
      cspViolations.push(msg.text());
    }
  });
  watchFeeds(page);
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

/** Logs in on the login screen (a new tab: the token is kept per tab). */
async function logIn(page: Page, username: string): Promise<void> {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

async function openRoom(page: Page, name: string): Promise<void> {
  await roomEntry(page, name).click();
  await page.locator(".room-head h1", { hasText: name }).waitFor();
}

async function bannerGone(page: Page): Promise<void> {
  await page
    .locator("[data-testid=connection-banner]")
    .waitFor({ state: "detached", timeout: 30_000 });
}

describe("web client in Chromium", () => {
  beforeAll(async () => {
    buildWeb();
    env = await createTestEnv({ redis: true });
    server = await startServer(env, {
      webDir: webDist,
      // Offline is announced soon after the last feed closes (default 10 s).
      presence: { graceMs: 300 },
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await env?.close();
  });

  it("two users chat live, then across a server restart", { timeout: 240_000 }, async () => {
    const alice = await newUserPage();
    await alice.goto(server.url);
    await alice.getByRole("button", { name: "Log in" }).waitFor();
    await screenshot(alice, "01-login-desktop");
    await register(alice, "alice", "Alice");

    const bob = await newUserPage();
    await register(bob, "bob", "Bob");

    // Alice creates a public room; Bob finds it in the directory and joins.
    await alice.getByRole("button", { name: "New room" }).click();
    await alice.getByLabel("Name", { exact: true }).fill("general");
    await alice.getByLabel("Description (optional)").fill("Everything and nothing");
    await alice.getByRole("button", { name: "Create room" }).click();
    await alice.locator(".room-head h1", { hasText: "general" }).waitFor();

    await bob.getByRole("button", { name: "Browse rooms" }).click();
    await bob.getByLabel("Search rooms").fill("gen");
    await screenshot(bob, "02-directory-desktop");
    await bob.getByRole("button", { name: "Join general" }).click();
    await bob.locator(".room-head h1", { hasText: "general" }).waitFor();
    await alice.locator("li.system", { hasText: "Bob joined" }).waitFor();

    // Typing, then messages both ways.
    await composer(bob).fill("Hi");
    await alice.getByText("Bob is typing…").waitFor();
    await send(bob, "Hi Alice!");
    await message(alice, "Hi Alice!").waitFor();
    await alice.getByText("Bob is typing…").waitFor({ state: "detached" });

    await send(alice, "Hello @bob");
    await message(bob, "Hello @bob").waitFor();
    expect(await message(bob, "Hello @bob").locator(".mention-me").textContent()).toBe("@bob");
    await message(alice, "Hello @bob").and(alice.locator("[data-status=sent]")).waitFor();

    // Shift+Enter makes a new line, Enter sends.
    await composer(alice).fill("two");
    await composer(alice).press("Shift+Enter");
    await composer(alice).pressSequentially("lines");
    expect(await composer(alice).inputValue()).toBe("two\nlines");
    await composer(alice).press("Enter");
    await message(bob, "lines").waitFor();

    // A reply shows its parent.
    await messageAction(bob, "Hello @bob", "Reply");
    await send(bob, "Replying to you");
    const reply = message(alice, "Replying to you");
    await reply.waitFor();
    expect(await reply.getByTestId("reply-quote").textContent()).toContain("Hello @bob");

    // Edit: the other side sees the new text and the marker.
    await messageAction(alice, "Hello @bob", "Edit");
    await alice.getByLabel("Edit message").fill("Hello @bob, welcome");
    await alice.getByLabel("Edit message").press("Enter");
    await message(bob, "Hello @bob, welcome").locator(".edited").waitFor();

    // Reactions: Bob adds one, Alice toggles the same one on and off.
    await messageAction(bob, "Hello @bob, welcome", "React");
    await bob.getByRole("button", { name: "React with 👍" }).click();
    const aliceThumb = message(alice, "Hello @bob, welcome").locator(".reaction");
    await aliceThumb.filter({ hasText: "1" }).waitFor();
    await aliceThumb.click();
    await message(bob, "Hello @bob, welcome").locator(".reaction", { hasText: "2" }).waitFor();
    expect(await aliceThumb.getAttribute("aria-pressed")).toBe("true");
    await aliceThumb.click();
    await message(bob, "Hello @bob, welcome").locator(".reaction", { hasText: "1" }).waitFor();

    // Delete: a tombstone on both sides.
    await messageAction(bob, "Hi Alice!", "Delete");
    await bob.getByRole("button", { name: "Yes, delete" }).click();
    await alice.locator(".tombstone").waitFor();
    await screenshot(alice, "03-conversation-desktop");

    // Presence: Bob closes his tab and comes back in a new one, where he logs
    // in again (the token lives in the tab's sessionStorage, not on disk).
    await alice.getByRole("button", { name: "Members" }).click();
    const bobMember = alice.locator("[data-testid=member][data-username=bob]");
    await bobMember
      .getByTestId("presence")
      .filter({ hasText: /^online$/ })
      .waitFor();
    await screenshot(alice, "04-members-desktop");
    const bobContext = bob.context();
    await bob.close();
    await bobMember
      .getByTestId("presence")
      .filter({ hasText: /^offline/ })
      .waitFor();
    const bob2 = await bobContext.newPage();
    bob2.setDefaultTimeout(15_000);
    watchFeeds(bob2);
    await bob2.goto(`${server.url}/#/`);
    await logIn(bob2, "bob");
    await bobMember
      .getByTestId("presence")
      .filter({ hasText: /^online$/ })
      .waitFor();
    await alice.getByRole("button", { name: "Close members" }).click();

    // Unread and mention badges: a private room Bob is invited to.
    await alice.getByRole("button", { name: "New room" }).click();
    await alice.getByLabel("Name", { exact: true }).fill("secret");
    await alice.getByLabel("Private: invited people only").check();
    await alice.getByLabel("Invite people").fill("bo");
    await alice.getByRole("button", { name: /Bob @bob/ }).click();
    await alice.getByRole("button", { name: "Create room" }).click();
    await alice.locator(".room-head h1", { hasText: "secret" }).waitFor();
    await openRoom(bob2, "general");
    await send(alice, "psst");
    await send(alice, "are you there @bob?");
    const secret = roomEntry(bob2, "secret");
    await secret.getByTestId("unread-badge").filter({ hasText: /^2$/ }).waitFor();
    await secret.getByTestId("mention-badge").filter({ hasText: "@1" }).waitFor();
    await send(bob2, "in general");
    await roomEntry(alice, "general")
      .getByTestId("unread-badge")
      .filter({ hasText: /^1$/ })
      .waitFor();
    await screenshot(bob2, "05-unread-badges-desktop");
    // Reading clears the badges.
    await openRoom(bob2, "secret");
    await message(bob2, "are you there").waitFor();
    await secret.getByTestId("unread-badge").waitFor({ state: "detached" });
    await secret.getByTestId("mention-badge").waitFor({ state: "detached" });
    await openRoom(alice, "general");
    await roomEntry(alice, "general").getByTestId("unread-badge").waitFor({ state: "detached" });
    await openRoom(bob2, "general");

    // A third user, through the API, to talk while the browsers reconnect.
    const api = httpTransport(server.url);
    const carol = await signUp(api, "carol");
    const rooms = authed(RoomService, api, carol.token);
    const general = (await rooms.listPublicRooms({ query: "general" })).rooms[0];
    if (!general) throw new Error("general not listed");
    await rooms.joinRoom({ roomId: general.id });
    await bob2.locator("li.system", { hasText: "carol joined" }).waitFor();

    const before = [
      "This message was deleted.",
      "Hello @bob, welcome",
      "two\nlines",
      "Replying to you",
      "in general",
    ];
    expect(await eventually(() => messageTexts(alice), before)).toEqual(before);
    expect(await eventually(() => messageTexts(bob2), before)).toEqual(before);

    // The server goes away: banners, and a send that fails.
    await server.stop(5_000);
    await alice.locator("[data-testid=connection-banner]").waitFor();
    await bob2.locator("[data-testid=connection-banner]").waitFor();
    await send(alice, "sent while offline");
    await message(alice, "sent while offline").and(alice.locator("[data-status=failed]")).waitFor();
    await screenshot(alice, "06-disconnected-desktop");

    // Same port, same database and Redis. Carol talks before the browsers are back.
    await server.start();
    const carolApi = authed(MessageService, httpTransport(server.url), carol.token);
    await carolApi.sendMessage({
      roomId: general.id,
      text: "carol during reconnect",
      clientMsgId: "c1",
    });
    await bannerGone(alice);
    await bannerGone(bob2);
    await carolApi.sendMessage({
      roomId: general.id,
      text: "carol after reconnect",
      clientMsgId: "c2",
    });

    // The failed message is retried with its client id: sent once.
    await message(alice, "sent while offline").getByRole("button", { name: "Retry" }).click();
    await message(alice, "sent while offline").and(alice.locator("[data-status=sent]")).waitFor();
    await send(bob2, "bob after restart");
    await send(alice, "alice after restart");

    const after = [
      ...before,
      "carol during reconnect",
      "carol after reconnect",
      "sent while offline",
      "bob after restart",
      "alice after restart",
    ];
    expect(await eventually(() => messageTexts(alice), after)).toEqual(after);
    expect(await eventually(() => messageTexts(bob2), after)).toEqual(after);

    // History from the server agrees with what the feed built.
    await bob2.reload();
    await message(bob2, "alice after restart").waitFor();
    expect(await eventually(() => messageTexts(bob2), after)).toEqual(after);
    const history = await authed(
      MessageService,
      httpTransport(server.url),
      carol.token,
    ).listMessages({
      roomId: general.id,
      limit: 100,
    });
    const texts = history.messages.filter((m) => m.text || m.deleted).map((m) => m.text);
    expect(texts.filter((t) => t === "sent while offline")).toHaveLength(1);

    // One feed stream per tab, never one per room (two rooms each here).
    expect(maxFeeds.get(alice)).toBe(1);
    expect(maxFeeds.get(bob2)).toBe(1);

    // Phone width: one pane at a time.
    await bob2.setViewportSize(PHONE);
    await screenshot(bob2, "07-conversation-phone");
    await bob2.getByRole("button", { name: "Back to rooms" }).click();
    await roomEntry(bob2, "secret").waitFor();
    await screenshot(bob2, "08-rooms-phone");
    await openRoom(bob2, "general");
    await bob2.getByRole("button", { name: "Members" }).click();
    await bob2.locator("[data-testid=member][data-username=alice]").waitFor();
    await screenshot(bob2, "09-members-phone");
    const phone = await newUserPage(PHONE);
    await phone.goto(server.url);
    await phone.getByRole("button", { name: "Log in" }).waitFor();
    await screenshot(phone, "10-login-phone");

    // All of the above ran under the page's strict Content-Security-Policy.
    const page = await phone.goto(server.url);
    const csp = (await page?.allHeaders())?.["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(cspViolations).toEqual([]);
    // The token is kept per tab (sessionStorage), not on disk (localStorage).
    expect(await bob2.evaluate(() => Object.keys(localStorage))).toEqual([]);
    expect(await bob2.evaluate(() => Object.keys(sessionStorage))).toContain("protochat.token");
  });
});

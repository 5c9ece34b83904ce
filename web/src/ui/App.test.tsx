// @vitest-environment happy-dom
/**
 * The app against a fake server on createRouterTransport (the real
 * generated clients, interceptor and feed loop; only the server is fake).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { cleanup, render, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeChat, myRoom, t0, textMessage } from "../test/fake-server.js";
import { App } from "./App.js";

// Not testing-library's `screen`: it is bound to the document of the first
// test file that loads the module, and unit test files share modules
// (isolate: false); this file's own document is the one to query.
const screen = within(document.body);

let fake: FakeChat;

beforeEach(() => {
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
});

afterEach(() => {
  cleanup();
});

function renderApp() {
  return render(<App makeTransport={(hooks) => fake.transport(hooks)} />);
}

async function logIn(password = "correct horse battery") {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText("Username"), "alice");
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Log in" }));
  return user;
}

function signedIn(): void {
  const alice = fake.addUser("alice", "correct horse battery", "Alice");
  sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
}

describe("login", () => {
  it("logs in, survives a reload, and returns to login with a message when the token is revoked", async () => {
    fake.addUser("alice", "correct horse battery", "Alice");
    fake.rooms = [myRoom(10n, "general", 1n)];
    const first = renderApp();
    await logIn("wrong password");
    expect((await screen.findByRole("alert")).textContent).toBe("Wrong username or password.");

    await userEvent.clear(screen.getByLabelText("Password"));
    await userEvent.type(screen.getByLabelText("Password"), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    await screen.findByRole("button", { name: "Log out" });
    await screen.findByRole("link", { name: "general" });
    expect(sessionStorage.getItem("protochat.token")).toMatch(/^token-alice/);
    await fake.feedOpen();
    first.unmount();

    // A reload: the stored session is used, no login form.
    renderApp();
    await screen.findByRole("link", { name: "general" });
    expect(screen.queryByLabelText("Password")).toBeNull();

    // Revoked elsewhere: the feed ends with Unauthenticated.
    await waitFor(() => expect(fake.subscribes.length).toBe(2));
    fake.revokeAll();
    fake.dropFeed(Code.Unauthenticated);
    await screen.findByText(/Your session has ended/);
    expect(screen.getByLabelText("Password")).toBeTruthy();
    expect(sessionStorage.getItem("protochat.token")).toBeNull();
  });

  it("registers a new account", async () => {
    fake.rooms = [];
    renderApp();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("tab", { name: "Register" }));
    await user.type(screen.getByLabelText("Username"), "newbie");
    await user.type(screen.getByLabelText("Password"), "long enough pw");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await screen.findByText(/No rooms yet/);
    expect(fake.users.has("newbie")).toBe(true);
  });
});

describe("room list", () => {
  it("shows unread and mention badges, keeps them live and sorts by activity", async () => {
    signedIn();
    fake.addUser("bob", "pw", "Bob");
    fake.rooms = [
      myRoom(10n, "general", 5n, {
        unread: 2,
        mentions: 1,
        activityMs: t0 + 2000,
        lastMessage: textMessage(10n, 5n, 2n, "latest in general"),
      }),
      myRoom(11n, "random", 3n, { activityMs: t0 }),
    ];
    renderApp();
    const general = await screen.findByRole("link", { name: "general, 2 unread, 1 mention" });
    expect(within(general).getByTestId("unread-badge").textContent).toBe("2");
    expect(within(general).getByTestId("mention-badge").textContent).toBe("@1");
    expect(await within(general).findByText("Bob: latest in general")).toBeTruthy();
    const names = () => screen.getAllByRole("link").map((a) => a.getAttribute("data-room-name"));
    expect(names()).toEqual(["general", "random"]);

    await fake.feedOpen();
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: 11n,
          seq: 4n,
          actorId: 2n,
          time: { seconds: BigInt(t0 / 1000 + 60), nanos: 0 },
          change: {
            case: "messageCreated",
            value: { message: textMessage(11n, 4n, 2n, "hey @alice", { mentionIds: [1n] }) },
          },
        },
      },
    });
    await screen.findByRole("link", { name: "random, 1 unread, 1 mention" });
    expect(names()).toEqual(["random", "general"]);

    // Read elsewhere: the marker moves and the badge clears.
    fake.emit({ event: { case: "readMarker", value: { roomId: 11n, lastReadSeq: 4n } } });
    await screen.findByRole("link", { name: "random" });
  });
});

describe("sending", () => {
  it("shows pending, then sent on the echo; failed sends retry with the same client id", async () => {
    signedIn();
    fake.rooms = [myRoom(10n, "general", 1n)];
    fake.history.set(10n, [textMessage(10n, 1n, 2n, "welcome")]);
    location.hash = "#/room/10";
    let release: () => void = () => {};
    fake.sendGate = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    renderApp();
    const user = userEvent.setup();
    const box = await screen.findByLabelText("Message #general");
    await screen.findByText("welcome");
    await fake.feedOpen();

    // Shift+Enter is a new line; Enter sends.
    await user.type(box, "hello{Shift>}{Enter}{/Shift}world{Enter}");
    const pending = await screen.findByText("Sending…");
    const item = pending.closest("[data-testid=message]") as HTMLElement;
    expect(item.dataset.status).toBe("pending");
    expect(within(item).getByTestId("message-text").textContent).toBe("hello\nworld");
    expect((box as HTMLTextAreaElement).value).toBe("");

    // The feed echoes it before the answer comes: sent.
    await waitFor(() => expect(fake.sends).toHaveLength(1));
    const sent = fake.sends[0];
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: 10n,
          seq: 2n,
          actorId: 1n,
          change: {
            case: "messageCreated",
            value: {
              message: textMessage(10n, 2n, 1n, "hello\nworld", { clientMsgId: sent?.clientMsgId }),
            },
          },
        },
      },
    });
    await waitFor(() => expect(screen.queryByText("Sending…")).toBeNull());
    release();
    const mine = () =>
      screen
        .getAllByTestId("message")
        .filter((m) => m.dataset.status)
        .map((m) => `${m.dataset.status}:${within(m).getByTestId("message-text").textContent}`);
    await waitFor(() => expect(mine()).toEqual(["sent:hello\nworld"]));

    // The next send fails; Retry uses the same client id and stores it once.
    let fail = true;
    fake.sendGate = async () => {
      if (fail) throw new ConnectError("network down", Code.Unavailable);
    };
    await user.type(box, "again{Enter}");
    await screen.findByText("Failed to send");
    fail = false;
    await user.click(screen.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(mine()).toEqual(["sent:hello\nworld", "sent:again"]));
    const ids = fake.sends.slice(1).map((s) => s.clientMsgId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(fake.history.get(10n)?.filter((m) => m.text === "again")).toHaveLength(1);
  });

  it("shows the @username beside display names, which two people may share", async () => {
    signedIn();
    const one = fake.addUser("sam_one", "pass-word-one", "Sam");
    const two = fake.addUser("sam_two", "pass-word-two", "Sam");
    fake.rooms = [myRoom(10n, "general", 1n)];
    fake.history.set(10n, [
      textMessage(10n, 1n, one.id, "first"),
      textMessage(10n, 2n, two.id, "second"),
    ]);
    location.hash = "#/room/10";
    renderApp();
    expect(await screen.findByText("@sam_one")).toBeTruthy();
    expect(await screen.findByText("@sam_two")).toBeTruthy();
  });

  it("never renders user text as HTML", async () => {
    signedIn();
    fake.rooms = [myRoom(10n, "general", 1n)];
    fake.history.set(10n, [textMessage(10n, 1n, 2n, '<img src=x onerror="alert(1)"> **hi**')]);
    location.hash = "#/room/10";
    renderApp();
    // Markdown is rendered (bold), raw HTML shows as text and never as elements.
    const bold = await screen.findByText("hi");
    expect(bold.tagName).toBe("STRONG");
    const text = bold.closest("[data-testid=message-text]");
    expect(text?.textContent).toContain('<img src=x onerror="alert(1)">');
    expect(text?.querySelector("img")).toBeNull();
  });
});

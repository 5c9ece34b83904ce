// @vitest-environment happy-dom
/**
 * Limits and moderation in the app against the fake server: the composer's
 * countdown after a RetryInfo (fake timers), mutes, slow mode in the room
 * settings, the members panel's moderation, invitations and privacy.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ErrorInfoSchema,
  MemberRole,
  MemberSchema,
  RetryInfoSchema,
  RoomSchema,
  type SendMessageRequest,
} from "@protochat/sdk";
import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AddPolicy, InvitationSchema } from "../../../../gen/chat/v1/consent_pb.js";
import { FakeChat, myRoom, t0, textMessage, user } from "../../test/fake-server.js";
import { App } from "../App.js";

// Not testing-library's `screen`: it is bound to the document of the first
// test file that loads the module, and unit test files share modules
// (isolate: false); this file's own document is the one to query.
const screen = within(document.body);

/**
 * Input the way React notices it, with fireEvent rather than user-event:
 * user-event keeps state per module, and unit test files share modules.
 */
const u = {
  async click(el: HTMLElement): Promise<void> {
    await act(async () => {
      fireEvent.click(el);
    });
  },
  /** Replaces the text of an input or textarea. */
  async fill(el: HTMLElement, value: string): Promise<void> {
    await act(async () => {
      fireEvent.change(el, { target: { value } });
    });
  },
  /** Presses Enter in `el`, as the composer's keyboard handler reads it. */
  async enter(el: HTMLElement): Promise<void> {
    await act(async () => {
      fireEvent.keyDown(el, { key: "Enter", code: "Enter" });
    });
  },
};

let fake: FakeChat;

beforeEach(() => {
  // testing-library sets this only for the first file that loads it.
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

function renderApp() {
  return render(<App makeTransport={(hooks) => fake.transport(hooks)} />);
}

function signedIn() {
  const alice = fake.addUser("alice", "correct horse battery", "Alice");
  sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
  return alice;
}

/** What the server answers to a send too soon: RATE_LIMITED with RetryInfo. */
function rateLimited(seconds: number): ConnectError {
  return new ConnectError(
    `slow mode: one message per ${seconds} s in this room`,
    Code.ResourceExhausted,
    undefined,
    [
      { desc: ErrorInfoSchema, value: { reason: "RATE_LIMITED", domain: "chat.v1" } },
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(seconds), nanos: 0 } } },
    ],
  );
}

const notice = () => screen.queryByTestId("send-limit")?.textContent ?? "";

describe("composer countdown", () => {
  it("counts down after a refused send, keeps the text, and sends once it ends", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    signedIn();
    fake.rooms = [myRoom(10n, "general", 1n)];
    fake.history.set(10n, [textMessage(10n, 1n, 2n, "welcome")]);
    location.hash = "#/room/10";
    let refuse = false;
    fake.sendGate = async (req: SendMessageRequest) => {
      if (refuse) throw rateLimited(3);
      void req;
    };
    renderApp();
    const box = (await screen.findByLabelText("Message #general")) as HTMLTextAreaElement;
    await screen.findByText("welcome");
    await fake.feedOpen();

    await u.fill(box, "first");
    await u.enter(box);
    await waitFor(() => expect(fake.sends).toHaveLength(1));

    refuse = true;
    await u.fill(box, "second");
    await u.enter(box);
    // The clock also moves with real time (shouldAdvanceTime), so the count
    // is read, not assumed: at most 3, falling with each second, then gone.
    await waitFor(() => expect(notice()).toMatch(/^You can send again in [1-3] s$/));
    const count = () => Number(/in (\d+) s/.exec(notice())?.[1] ?? 0);
    let last = count();
    // The refused text is back in the box; the pending copy is gone.
    expect(box.value).toBe("second");
    expect(screen.queryByText("Sending…")).toBeNull();
    expect(screen.queryByText("Failed to send")).toBeNull();
    const sendButton = screen.getByRole("button", { name: "Send" }) as HTMLButtonElement;
    expect(sendButton.disabled).toBe(true);

    // Enter does nothing while it counts; the text stays.
    await u.enter(box);
    expect(fake.sends).toHaveLength(2);
    expect(box.value).toBe("second");

    while (screen.queryByTestId("send-limit")) {
      await act(async () => {
        vi.advanceTimersByTime(1_000);
      });
      const now = count();
      expect(now).toBeLessThan(last);
      last = now;
    }
    expect(last).toBe(0);
    expect(box.value).toBe("second");
    expect(sendButton.disabled).toBe(false);

    refuse = false;
    await u.enter(box);
    await waitFor(() => expect(fake.sends).toHaveLength(3));
    expect(fake.sends[2]?.text).toBe("second");
    await waitFor(() => expect(box.value).toBe(""));
  });

  it("shows a mute until its end, and lifts it on the member_muted event", async () => {
    const alice = signedIn();
    fake.rooms = [myRoom(10n, "general", 1n)];
    location.hash = "#/room/10";
    const until = Date.now() + 3_600_000;
    fake.mutedUntil.set(10n, until);
    renderApp();
    const box = await screen.findByLabelText("Message #general");
    await waitFor(() => expect(notice()).toMatch(/^You are muted in this room until \d\d:\d\d/));
    expect(screen.getByTestId("send-limit").dataset.kind).toBe("muted");
    await u.fill(box, "hello");
    expect((screen.getByRole("button", { name: "Send" }) as HTMLButtonElement).disabled).toBe(true);

    await fake.feedOpen();
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: 10n,
          seq: 2n,
          actorId: 2n,
          change: { case: "memberMuted", value: { userId: alice.id } },
        },
      },
    });
    await waitFor(() => expect(screen.queryByTestId("send-limit")).toBeNull());
    expect((screen.getByRole("button", { name: "Send" }) as HTMLButtonElement).disabled).toBe(
      false,
    );
  });
});

describe("slow mode", () => {
  it("is one click in the room settings, and shown to everyone in the header", async () => {
    signedIn();
    const general = myRoom(10n, "general", 1n);
    general.role = MemberRole.OWNER;
    fake.rooms = [general];
    location.hash = "#/room/10";
    renderApp();
    await u.click(await screen.findByRole("button", { name: "Settings" }));
    const dialog = await screen.findByRole("dialog", { name: "Room settings" });
    await u.click(within(dialog).getByRole("radio", { name: "3 s" }));
    await waitFor(() =>
      expect(fake.calls).toContainEqual(
        expect.objectContaining({
          method: "updateRoom",
          req: expect.objectContaining({ slowModeSeconds: 3 }),
        }),
      ),
    );
    const before = general.room;
    if (!before) throw new Error("myRoom made no room");
    await fake.feedOpen();
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: 10n,
          seq: 2n,
          actorId: 1n,
          change: {
            case: "roomUpdated",
            value: {
              room: create(RoomSchema, { ...before, lastSeq: 2n, slowModeSeconds: 3 }),
            },
          },
        },
      },
    });
    await waitFor(() =>
      expect(within(dialog).getByTestId("slow-mode-current").textContent).toBe("Slow mode: 3 s"),
    );
    expect(document.querySelector(".room-head")?.textContent).toContain("Slow mode: 3 s");
  });
});

describe("members panel", () => {
  const member = (id: bigint, name: string, role: MemberRole, mutedUntil?: number) =>
    create(MemberSchema, {
      user: user(id, name.toLowerCase(), name),
      role,
      joinTime: timestampFromMs(t0),
      mutedUntil: mutedUntil ? timestampFromMs(mutedUntil) : undefined,
    });

  function roomWith(role: MemberRole) {
    const alice = signedIn();
    const general = myRoom(10n, "general", 1n);
    general.role = role;
    fake.rooms = [general];
    fake.members.set(10n, [
      member(alice.id, "Alice", role),
      member(2n, "Bob", MemberRole.MEMBER),
      member(3n, "Carol", MemberRole.ADMIN),
      member(4n, "Olga", role === MemberRole.OWNER ? MemberRole.ADMIN : MemberRole.OWNER),
    ]);
    fake.banned.set(10n, [member(5n, "Dave", MemberRole.MEMBER)]);
    location.hash = "#/room/10";
  }

  async function openPanel() {
    renderApp();
    await u.click(await screen.findByRole("button", { name: "Members" }));
    const panel = await screen.findByRole("complementary", { name: "Members" });
    await within(panel).findByText("Bob");
    return { u, panel };
  }

  it("lets an owner mute, unmute, ban and unban members ranked below", async () => {
    roomWith(MemberRole.OWNER);
    const { u, panel } = await openPanel();
    // Owners act on admins and members, never on themselves.
    expect(within(panel).queryByLabelText("Actions for Alice")).toBeNull();
    expect(within(panel).getByLabelText("Actions for Carol")).toBeTruthy();

    const bob = () =>
      within(panel)
        .getAllByTestId("member")
        .find((li) => li.dataset.username === "bob") as HTMLElement;
    await u.click(within(panel).getByLabelText("Actions for Bob"));
    await u.click(within(bob()).getByRole("button", { name: "Mute 1 hour" }));
    await waitFor(() =>
      expect(fake.calls.at(-1)).toEqual({
        method: "muteMember",
        req: expect.objectContaining({ roomId: 10n, userId: 2n, durationSeconds: 3600 }),
      }),
    );
    await waitFor(() =>
      expect(within(bob()).getByTestId("muted-until").textContent).toMatch(/^muted until/),
    );

    await u.click(within(panel).getByLabelText("Actions for Bob"));
    await u.click(within(bob()).getByRole("button", { name: "Unmute Bob" }));
    await waitFor(() => expect(within(bob()).queryByTestId("muted-until")).toBeNull());
    expect(fake.calls.at(-1)?.method).toBe("unmuteMember");

    // The banned list: Dave, then Bob once banned; unban takes Dave off.
    const banned = within(panel).getByRole("region", { name: "Banned" });
    await within(banned).findByText("Dave");
    await u.click(within(panel).getByLabelText("Actions for Bob"));
    await u.click(within(bob()).getByRole("button", { name: "Ban Bob" }));
    await within(banned).findByText("Bob");
    expect(fake.calls.at(-1)).toEqual({
      method: "banMember",
      req: expect.objectContaining({ roomId: 10n, userId: 2n }),
    });
    await u.click(within(banned).getByRole("button", { name: "Unban Dave" }));
    await waitFor(() => expect(within(banned).queryByText("Dave")).toBeNull());
    expect(fake.calls.at(-1)).toEqual({
      method: "unbanMember",
      req: expect.objectContaining({ roomId: 10n, userId: 5n }),
    });
  });

  it("gives an admin actions on members only, and plain members none", async () => {
    roomWith(MemberRole.ADMIN);
    const { panel } = await openPanel();
    expect(within(panel).getByLabelText("Actions for Bob")).toBeTruthy();
    expect(within(panel).queryByLabelText("Actions for Carol")).toBeNull();
    expect(within(panel).queryByLabelText("Actions for Olga")).toBeNull();
    expect(within(panel).getByRole("region", { name: "Banned" })).toBeTruthy();
    cleanup();

    fake = new FakeChat();
    sessionStorage.clear();
    roomWith(MemberRole.MEMBER);
    const again = await openPanel();
    expect(within(again.panel).queryAllByRole("group")).toHaveLength(0);
    expect(within(again.panel).queryByLabelText("Actions for Bob")).toBeNull();
    expect(within(again.panel).queryByRole("region", { name: "Banned" })).toBeNull();
  });
});

describe("invitations and privacy", () => {
  it("accepts one invitation (the room joins the sidebar) and declines another", async () => {
    signedIn();
    fake.rooms = [myRoom(10n, "general", 1n)];
    const bob = user(2n, "bob", "Bob");
    const room = (id: bigint, name: string) => create(RoomSchema, { id, name, lastSeq: 1n });
    fake.invitations = [
      create(InvitationSchema, { id: 7n, room: room(20n, "club"), inviter: bob }),
      create(InvitationSchema, { id: 8n, room: room(21n, "spam"), inviter: bob }),
    ];
    fake.invitationRooms.set(7n, myRoom(20n, "club", 2n));
    renderApp();
    const section = await screen.findByRole("region", { name: "Invitations" });
    await waitFor(() =>
      expect(within(section).getByTestId("invitation-badge").textContent).toBe("2"),
    );
    expect(screen.queryByRole("link", { name: "club" })).toBeNull();

    await u.click(within(section).getByRole("button", { name: "Accept invitation to club" }));
    await screen.findByRole("link", { name: "club" });
    await waitFor(() => expect(location.hash).toBe("#/room/20"));
    await waitFor(() =>
      expect(within(section).getByTestId("invitation-badge").textContent).toBe("1"),
    );

    await u.click(within(section).getByRole("button", { name: "Decline invitation to spam" }));
    await waitFor(() => expect(screen.queryByRole("region", { name: "Invitations" })).toBeNull());
    expect(fake.calls.map((c) => c.method)).toEqual(["acceptInvitation", "declineInvitation"]);
    expect(screen.queryByRole("link", { name: "spam" })).toBeNull();
  });

  it("sets who may add me", async () => {
    signedIn();
    renderApp();
    await u.click(await screen.findByRole("button", { name: "Privacy" }));
    const dialog = await screen.findByRole("dialog", { name: "Privacy" });
    const def = await within(dialog).findByRole("radio", {
      name: "The server's default (people i share a room with)",
    });
    expect((def as HTMLInputElement).checked).toBe(true);
    await u.click(within(dialog).getByRole("radio", { name: "Nobody: always ask me first" }));
    await u.click(within(dialog).getByRole("button", { name: "Save" }));
    await within(dialog).findByText("Saved.");
    expect(fake.whoMayAdd).toBe(AddPolicy.NOBODY);
  });
});

describe("archive and group conversations", () => {
  it("archives a room after a confirmation; the room is read-only then", async () => {
    signedIn();
    const general = myRoom(10n, "general", 1n);
    general.role = MemberRole.OWNER;
    fake.rooms = [general];
    location.hash = "#/room/10";
    renderApp();
    await u.click(await screen.findByRole("button", { name: "Settings" }));
    const settings = await screen.findByRole("dialog", { name: "Room settings" });
    await u.click(within(settings).getByRole("button", { name: "Archive room…" }));
    const confirm = await screen.findByRole("dialog", { name: "Archive this room?" });
    // Cancel changes nothing; confirming archives.
    await u.click(within(confirm).getByRole("button", { name: "Cancel" }));
    await u.click(
      within(await screen.findByRole("dialog", { name: "Room settings" })).getByRole("button", {
        name: "Archive room…",
      }),
    );
    expect(fake.calls).toEqual([]);
    await u.click(
      within(await screen.findByRole("dialog", { name: "Archive this room?" })).getByRole(
        "button",
        { name: "Archive room" },
      ),
    );
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(fake.calls).toEqual([
      { method: "archiveRoom", req: expect.objectContaining({ roomId: 10n }) },
    ]);
    const room = fake.rooms[0]?.room;
    if (!room) throw new Error("no room");
    await fake.feedOpen();
    fake.emit({
      event: {
        case: "roomEvent",
        value: {
          roomId: 10n,
          seq: 2n,
          actorId: 1n,
          change: {
            case: "roomUpdated",
            value: { room: create(RoomSchema, { ...room, lastSeq: 2n }) },
          },
        },
      },
    });
    const box = (await screen.findByPlaceholderText(
      "This room is read-only",
    )) as HTMLTextAreaElement;
    expect(box.disabled).toBe(true);
    expect(document.querySelector(".room-head")?.textContent).toContain("archived (read-only)");
  });

  it("starts a named group with people picked by search", async () => {
    signedIn();
    fake.addUser("bob", "pw", "Bob");
    fake.addUser("carol", "pw", "Carol");
    renderApp();
    await u.click(await screen.findByRole("button", { name: "New group" }));
    const dialog = await screen.findByRole("dialog", { name: "New group" });
    const start = within(dialog).getByRole("button", { name: "Start group" }) as HTMLButtonElement;
    const search = within(dialog).getByLabelText("Add people (2 to 9)");
    await u.fill(search, "bob");
    await u.click(await within(dialog).findByRole("button", { name: /@bob/ }));
    expect(start.disabled).toBe(true);
    await u.fill(search, "carol");
    await u.click(await within(dialog).findByRole("button", { name: /@carol/ }));
    await u.fill(within(dialog).getByLabelText("Name (optional)"), "trio");
    await u.click(start);
    await screen.findByRole("link", { name: "trio" });
    expect(fake.calls.map((c) => c.method)).toEqual(["createGroupDirect", "updateRoom"]);
    expect(fake.calls[0]?.req).toEqual(expect.objectContaining({ userIds: [2n, 3n] }));
    expect(fake.calls[1]?.req).toEqual(expect.objectContaining({ name: "trio" }));
  });

  it("says who was invited rather than added to a new group", async () => {
    signedIn();
    fake.addUser("bob", "pw", "Bob");
    const carol = fake.addUser("carol", "pw", "Carol");
    fake.askFirst.add(carol.id);
    renderApp();
    await u.click(await screen.findByRole("button", { name: "New group" }));
    const dialog = await screen.findByRole("dialog", { name: "New group" });
    const search = within(dialog).getByLabelText("Add people (2 to 9)");
    for (const name of ["bob", "carol"]) {
      await u.fill(search, name);
      await u.click(await within(dialog).findByRole("button", { name: new RegExp(`@${name}`) }));
    }
    await u.click(within(dialog).getByRole("button", { name: "Start group" }));
    const status = await within(dialog).findByRole("status");
    expect(status.textContent).toContain("Carol asks before being added");
    expect(location.hash).not.toMatch(/^#\/room\//);
    await u.click(within(dialog).getByRole("button", { name: "Open the conversation" }));
    await waitFor(() => expect(location.hash).toMatch(/^#\/room\/\d+$/));
    expect(screen.queryByRole("dialog")).toBeNull();
  });
});

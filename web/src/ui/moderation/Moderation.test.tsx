// @vitest-environment happy-dom
/**
 * Blocks and reports in the app against the fake server: a blocked user's
 * message is collapsed until shown (others' are not), Unblock brings it
 * back, and Report sends the category and text the user chose.
 */
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReportReason } from "../../../../gen/chat/v1/moderation_pb.js";
import { FakeChat, myRoom, textMessage } from "../../test/fake-server.js";
import { App } from "../App.js";

let fake: FakeChat;

beforeEach(() => {
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
});

afterEach(() => {
  cleanup();
});

describe("blocked users and reports", () => {
  it("collapses a blocked user's messages until shown, and reports a message", async () => {
    const alice = fake.addUser("alice", "correct horse battery", "Alice");
    sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
    const mallory = fake.addUser("mallory", "pass-word-one", "Mallory");
    const sam = fake.addUser("sam", "pass-word-two", "Sam");
    fake.blocks.set(alice.id, new Set([mallory.id]));
    fake.rooms = [myRoom(10n, "general", 2n)];
    fake.history.set(10n, [
      textMessage(10n, 1n, mallory.id, "rude words"),
      textMessage(10n, 2n, sam.id, "nice words"),
    ]);
    location.hash = "#/room/10";
    render(<App makeTransport={(hooks) => fake.transport(hooks)} />);
    const user = userEvent.setup();
    // The first render loads the session, rooms and history: generous, as the machine may be busy.
    expect(await screen.findByText("nice words", {}, { timeout: 15_000 })).toBeTruthy();
    const collapsed = await screen.findByTestId("message-collapsed");
    expect(screen.queryByText("rude words")).toBeNull();
    await user.click(within(collapsed).getByRole("button", { name: "show" }));
    expect(await screen.findByText("rude words")).toBeTruthy();

    // Report Sam's message as harassment, with a few words.
    const item = (await screen.findByText("nice words")).closest("li") as HTMLElement;
    await user.click(within(item).getByRole("button", { name: "Report" }));
    const dialog = await screen.findByRole("dialog");
    await user.selectOptions(within(dialog).getByLabelText("Category"), "Harassment");
    await user.type(within(dialog).getByLabelText("What happened (optional)"), "not nice");
    await user.click(within(dialog).getByRole("button", { name: "Send report" }));
    await within(dialog).findByText(/Reported/);
    expect(fake.reports).toHaveLength(1);
    expect(fake.reports[0]?.reason).toBe(ReportReason.HARASSMENT);
    expect(fake.reports[0]?.text).toBe("not nice");
    expect(fake.reports[0]?.messageId).toBe(fake.history.get(10n)?.[1]?.id);

    // Unblock from the (shown) message's menu: the server is told.
    const rude = (await screen.findByText("rude words")).closest("li") as HTMLElement;
    await user.click(within(rude).getByRole("button", { name: "Unblock Mallory" }));
    await waitFor(() => expect(fake.blocks.get(alice.id)?.size).toBe(0));
    expect(within(rude).getByRole("button", { name: "Block Mallory" })).toBeTruthy();
  });
});

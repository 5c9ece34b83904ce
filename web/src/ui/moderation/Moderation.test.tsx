// @vitest-environment happy-dom
/**
 * Blocks and reports in the app against the fake server: a blocked user's
 * message is collapsed until shown (others' are not), Report sends the
 * category and text the user chose, and Unblock tells the server.
 */
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReportReason } from "../../../../gen/chat/v1/moderation_pb.js";
import { FakeChat, myRoom, textMessage } from "../../test/fake-server.js";
import { App } from "../App.js";
import { byText, click, renderNode, unmountAll, until } from "../markdown/render-test-util.js";

let fake: FakeChat;

beforeEach(() => {
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
});

afterEach(() => {
  unmountAll();
});

/** Sets a form control's value the way React notices. */
async function setValue(el: HTMLSelectElement | HTMLTextAreaElement, value: string, event: string) {
  await act(async () => {
    const proto = Object.getPrototypeOf(el) as object;
    Object.getOwnPropertyDescriptor(proto, "value")?.set?.call(el, value);
    el.dispatchEvent(new Event(event, { bubbles: true }));
  });
}

const messageOf = (root: ParentNode, text: string) =>
  byText(root, "[data-testid=message-text] p", text)?.closest<HTMLElement>(
    "[data-testid=message]",
  ) ?? undefined;

describe("blocked users and reports", () => {
  it("collapses a blocked user's messages until shown, reports a message, unblocks", {
    timeout: 60_000,
  }, async () => {
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
    const root = renderNode(<App makeTransport={(hooks) => fake.transport(hooks)} />);
    await until(() => messageOf(root, "nice words"));
    const collapsed = await until(() =>
      root.querySelector<HTMLElement>("[data-testid=message-collapsed]"),
    );
    expect(messageOf(root, "rude words")).toBeUndefined();
    await click(await until(() => byText(collapsed, "button", "show")));
    await until(() => messageOf(root, "rude words"));

    // Report Sam's message as harassment, with a few words.
    const nice = await until(() => messageOf(root, "nice words"));
    await click(await until(() => byText(nice, "button", "Report")));
    const dialog = await until(() => document.querySelector<HTMLElement>("dialog"));
    const select = await until(() => dialog.querySelector("select"));
    await setValue(select, String(ReportReason.HARASSMENT), "change");
    await setValue(await until(() => dialog.querySelector("textarea")), "not nice", "input");
    await click(await until(() => byText(dialog, "button", "Send report")));
    await until(() => dialog.textContent?.includes("Reported."));
    expect(fake.reports).toHaveLength(1);
    expect(fake.reports[0]?.reason).toBe(ReportReason.HARASSMENT);
    expect(fake.reports[0]?.text).toBe("not nice");
    expect(fake.reports[0]?.messageId).toBe(fake.history.get(10n)?.[1]?.id);
    await click(await until(() => byText(dialog, ".form-actions button", "Close")));

    // Unblock from the (shown) message's menu: the server is told.
    const rude = await until(() => messageOf(root, "rude words"));
    await click(await until(() => byText(rude, "button", "Unblock Mallory")));
    await until(() => fake.blocks.get(alice.id)?.size === 0);
    await until(() => byText(rude, "button", "Block Mallory"));
  });
});

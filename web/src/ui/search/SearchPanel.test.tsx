// @vitest-environment happy-dom
/**
 * Search, open at the hit, seen-by and pins against the fake server, with
 * SearchService, ReceiptService and PinService added to it.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PinService } from "../../../../gen/chat/v1/pins_pb.js";
import { ReceiptService } from "../../../../gen/chat/v1/receipts_pb.js";
import { type SearchMessagesRequest, SearchService } from "../../../../gen/chat/v1/search_pb.js";
import { FakeChat, myRoom, textMessage } from "../../test/fake-server.js";
import { App } from "../App.js";
import {
  byText,
  click,
  renderNode,
  typeInto,
  unmountAll,
  until,
} from "../markdown/render-test-util.js";

let fake: FakeChat;
let pinned: bigint[];
let searches: SearchMessagesRequest[];

beforeEach(() => {
  sessionStorage.clear();
  location.hash = "";
  fake = new FakeChat();
  pinned = [];
  searches = [];
  const base = fake.routes;
  fake.routes = (router: ConnectRouter) => {
    base(router);
    router.service(SearchService, {
      searchMessages: (req) => {
        searches.push(req);
        const hits = [...fake.history.values()]
          .flat()
          .filter((m) => m.text.includes(req.query))
          .map((message) => {
            const start =
              Array.from(message.text).length -
              Array.from(message.text.slice(message.text.indexOf(req.query))).length;
            return {
              message,
              snippet: message.text,
              highlights: [{ start, end: start + Array.from(req.query).length }],
            };
          });
        return { hits };
      },
    });
    router.service(ReceiptService, {
      listReadReceipts: (req) => ({
        receipts: [{ roomId: req.roomId, userId: 2n, lastReadSeq: 2n }],
        lastSeq: 3n,
      }),
    });
    router.service(PinService, {
      listPinnedMessages: (req) => ({
        pins: (fake.history.get(req.roomId) ?? [])
          .filter((m) => pinned.includes(m.id))
          .map((message) => ({ message, pinnedBy: 1n })),
        membersCanPin: true,
      }),
      pinMessage: (req) => {
        pinned.push(req.messageId);
        return {};
      },
      unpinMessage: (req) => {
        pinned = pinned.filter((id) => id !== req.messageId);
        return {};
      },
    });
  };
});

afterEach(unmountAll);

describe("search, seen-by and pins", () => {
  it("finds a message, opens it highlighted, shows who read it, pins it", {
    timeout: 60_000,
  }, async () => {
    const alice = fake.addUser("alice", "correct horse battery", "Alice");
    const bob = fake.addUser("bob", "correct horse battery", "Bob");
    sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
    fake.rooms = [myRoom(10n, "general", 3n), myRoom(11n, "other", 1n)];
    fake.history.set(10n, [
      textMessage(10n, 1n, alice.id, "hello"),
      textMessage(10n, 2n, bob.id, "今天天气很好"),
      textMessage(10n, 3n, alice.id, "yes"),
    ]);
    fake.history.set(11n, [textMessage(11n, 1n, alice.id, "elsewhere")]);
    location.hash = "#/room/11";
    const root = renderNode(<App makeTransport={(hooks) => fake.transport(hooks)} />);
    await until(() => byText(root, "[data-testid=message-text] p", "elsewhere"));

    await click(await until(() => byText(root, ".room-head button", "Search")));
    const box = await until(() => root.querySelector<HTMLInputElement>("input[type=search]"));
    await typeInto(box, "天气");
    await click(await until(() => byText(root, ".search-form button", "Search")));
    const hit = await until(() => root.querySelector<HTMLElement>("[data-testid=search-hit]"));
    expect(hit.querySelector("mark")?.textContent).toBe("天气");

    await click(hit);
    await until(() => location.hash === "#/room/10");
    const text = await until(() => byText(root, "[data-testid=message-text] p", "今天天气很好"));
    const item = text.closest<HTMLElement>("[data-testid=message]");
    if (!item) throw new Error("no message item");
    await until(() => item.dataset.hit === "true");
    // Bob read up to seq 2: his avatar is under it, not under seq 3.
    await until(() =>
      item.querySelector("[data-testid=seen-by]")?.textContent?.includes("Seen by Bob"),
    );
    expect(root.querySelectorAll("[data-testid=seen-by]")).toHaveLength(1);

    // Pin it, and it is in the pinned list.
    await click(await until(() => byText(item, "button", "Pin")));
    await until(() => byText(item, "button", "Unpin"));
    await click(await until(() => byText(root, ".room-head button", "Pinned")));
    const pin = await until(() => root.querySelector("[data-testid=pin]"));
    expect(pin.textContent).toContain("今天天气很好");
  });

  it("sends the attachment and thread filters only when chosen", async () => {
    const alice = fake.addUser("alice", "correct horse battery", "Alice");
    sessionStorage.setItem("protochat.token", fake.tokenFor(alice));
    fake.rooms = [myRoom(10n, "general", 1n)];
    fake.history.set(10n, [textMessage(10n, 1n, alice.id, "the report is attached")]);
    location.hash = "#/room/10";
    const root = renderNode(<App makeTransport={(hooks) => fake.transport(hooks)} />);
    await click(await until(() => byText(root, ".room-head button", "Search")));
    const box = await until(() => root.querySelector<HTMLInputElement>("input[type=search]"));
    await typeInto(box, "report");
    const search = await until(() => byText(root, ".search-form button", "Search"));
    await click(search);
    await until(() => searches.length === 1);
    expect(searches[0]?.hasAttachment).toBeUndefined();
    expect(searches[0]?.inThread).toBeUndefined();

    const choose = async (label: string, value: string) => {
      const select = await until(() =>
        [...root.querySelectorAll<HTMLLabelElement>(".search-form label")]
          .find((l) => l.textContent?.startsWith(label))
          ?.querySelector("select"),
      );
      await act(async () => {
        select.value = value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
    };
    await choose("Files", "yes");
    await choose("Threads", "no");
    await click(search);
    await until(() => searches.length === 2);
    expect(searches[1]?.hasAttachment).toBe(true);
    expect(searches[1]?.inThread).toBe(false);
  });
});

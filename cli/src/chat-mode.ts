/**
 * `protochat chat <room>`: the room live in the terminal. Over HTTP/2 the
 * whole conversation runs on one bidirectional FeedService.Chat stream
 * (feed events down; sends, typing and read markers up); where HTTP/2 does
 * not get through, on FeedService.Subscribe plus unary calls over
 * HTTP/1.1. Either way it is the SDK's resumable feed: it reconnects with
 * backoff, resumes from the last message shown, and shows nothing twice.
 *
 * On a terminal: line editing and history (node:readline, up/down), the
 * prompt shows who is typing, and typing is sent while you type. Without a
 * terminal (pipes, scripts): every input line is a message (or a /command),
 * output is lines (or JSON lines with --json), and at the end of input it
 * exits once every line was sent and shown.
 */
import { clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import { toJson } from "@bufbuild/protobuf";
import {
  type ChatClient,
  ChatFeed,
  type FeedItem,
  MessageSchema,
  ResetSchema,
  type ResumableFeed,
  RoomEventSchema,
  SendMessageResponseSchema,
} from "@protochat/sdk";
import { systemIds } from "./commands.js";
import { connectInteractive } from "./connect.js";
import { formatMessage, formatRoomEvent } from "./format.js";
import { Names } from "./names.js";
import type { Output } from "./output.js";
import { findRoom } from "./rooms.js";

/** Options of the interactive mode. */
export interface ChatModeOptions {
  out: Output;
  server: string;
  token: string;
  http1: boolean;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  /** Messages of history shown first. */
  historyCount: number;
}

/** Typing is repeated this often while keys come, and stopped this long after the last. */
const TYPING_REPEAT_MS = 3_000;
const TYPING_IDLE_MS = 5_000;
/** Read markers move at most this often. */
const MARK_READ_DELAY_MS = 500;
/** At the end of input, how long to wait for our messages to come back on the feed. */
const ECHO_WAIT_MS = 10_000;

const HELP = [
  "/help          this list",
  "/who           members online now",
  "/older [n]     show n earlier messages (default 20)",
  "/quit          leave (or Ctrl-D)",
  "Anything else is sent as a message.",
].join("\n");

/** What the mode sends, over the Chat stream or unary calls. */
interface Actions {
  send(text: string): ReturnType<ChatClient["send"]>;
  typing(on: boolean): Promise<unknown>;
  markRead(seq: bigint): Promise<unknown>;
}

export async function chatMode(ref: string, o: ChatModeOptions): Promise<number> {
  const { out } = o;
  const { client, httpVersion, http2Error } = await connectInteractive(o.server, o.token, o.http1);
  if (http2Error) out.note(`HTTP/2 is not available (${http2Error.rawMessage}): using HTTP/1.1.`);
  const me = (await client.users.getMe({})).user;
  const meId = me?.id ?? 0n;
  const names = new Names(client);
  names.remember([me]);
  const room = await findRoom(client, ref, meId);
  const roomId = room.id;

  const members = new Set<bigint>();
  const online = new Set<bigint>();
  const membersPage = await client.rooms
    .listMembers({ roomId, pageSize: 200 })
    .catch(() => undefined);
  for (const m of membersPage?.members ?? []) {
    names.remember([m.user]);
    if (m.user) members.add(m.user.id);
  }

  const feed: ResumableFeed =
    httpVersion === "2"
      ? client.chat({ reloadOnReset: { limit: o.historyCount || 20 } })
      : client.follow({ reloadOnReset: { limit: o.historyCount || 20 } });
  const actions: Actions =
    feed instanceof ChatFeed
      ? {
          send: (text) => feed.send(roomId, text),
          typing: (on) => feed.setTyping(roomId, on),
          markRead: (seq) => feed.markRead(roomId, seq),
        }
      : {
          send: (text) => client.send(roomId, text),
          typing: (on) => client.feed.setTyping({ roomId, typing: on }),
          markRead: (seq) => client.messages.markRead({ roomId, seq }),
        };

  out.emit(
    `Chatting in ${room.title} over ${httpVersion === "2" ? "HTTP/2 (one Chat stream)" : "HTTP/1.1 (Subscribe and unary calls)"}. /help for commands, Ctrl-D to leave.`,
    () => ({
      type: "chat",
      roomId: String(roomId),
      title: room.title,
      httpVersion,
      stream: feed instanceof ChatFeed ? "Chat" : "Subscribe",
    }),
  );

  const showMessage = (m: Parameters<typeof formatMessage>[0]) =>
    out.emit(
      formatMessage(m, (id) => names.peek(id)),
      () => ({
        type: "message",
        sender: names.peek(m.senderId),
        message: toJson(MessageSchema, m),
      }),
    );

  // The latest messages, then the feed from exactly where they end.
  const page = await client.messages.listMessages({ roomId, limit: Math.max(1, o.historyCount) });
  let oldestShown = page.messages[0]?.seq;
  if (o.historyCount > 0) {
    await names.load(page.messages.flatMap((m) => [m.senderId, ...systemIds(m)]));
    for (const m of page.messages) showMessage(m);
  }
  feed.seed([{ roomId, lastSeq: page.lastSeq }]);

  const tty = Boolean(o.stdin.isTTY && o.stdout.isTTY);
  const rl: Interface = createInterface({
    input: o.stdin,
    output: tty ? o.stdout : undefined,
    terminal: tty,
    historySize: 1_000,
    prompt: "> ",
  });
  const typists = new Map<bigint, string>();
  const setPrompt = () => {
    const who = [...typists.values()];
    rl.setPrompt(
      who.length === 0 ? "> " : `[${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…] > `,
    );
  };
  if (tty) {
    out.around = (write) => {
      clearLine(o.stdout, 0);
      cursorTo(o.stdout, 0);
      write();
      rl.prompt(true);
    };
  }

  // Read markers follow what was shown, a little behind.
  let readWanted = 0n;
  let readTimer: ReturnType<typeof setTimeout> | undefined;
  const markRead = (seq: bigint) => {
    if (seq <= readWanted) return;
    readWanted = seq;
    readTimer ??= setTimeout(() => {
      readTimer = undefined;
      actions.markRead(readWanted).catch(() => {});
    }, MARK_READ_DELAY_MS);
  };

  let stopReason: { code: number } | undefined;
  let reconnects = 0;
  const stop = (code: number) => {
    stopReason ??= { code };
    feed.close();
    rl.close();
  };

  const onItem = async (item: FeedItem) => {
    switch (item.case) {
      case "status": {
        const s = item.value;
        if (s.state === "waiting") {
          out.emit(
            `* disconnected (${s.error.rawMessage}); reconnecting in ${Math.ceil(s.delayMs / 1000)} s`,
            () => ({
              type: "status",
              state: "waiting",
              error: s.error.rawMessage,
              delayMs: s.delayMs,
            }),
          );
        } else if (s.state === "live") {
          out.emit(s.state === "live" && reconnects > 0 ? "* connected again" : undefined, () => ({
            type: "status",
            state: "live",
          }));
        }
        if (s.state === "waiting") reconnects += 1;
        return;
      }
      case "roomEvent": {
        const ev = item.value;
        if (ev.roomId !== roomId) return;
        const c = ev.change;
        if (c.case === "messageCreated" && c.value.message) {
          const m = c.value.message;
          await names.load([m.senderId]);
          typists.delete(m.senderId);
          setPrompt();
          showMessage(m);
          if (m.senderId !== meId) markRead(ev.seq);
          echoed(ev.seq);
          return;
        }
        if (c.case === "membersAdded") {
          for (const m of c.value.members) if (m.user) members.add(m.user.id);
          names.remember(c.value.members.map((m) => m.user));
        }
        if (c.case === "memberRemoved") members.delete(c.value.userId);
        await names.load([ev.actorId, ...(c.case === "memberRemoved" ? [c.value.userId] : [])]);
        out.emit(
          formatRoomEvent(ev, (id) => names.peek(id)),
          () => ({
            type: "roomEvent",
            actor: names.peek(ev.actorId),
            event: toJson(RoomEventSchema, ev),
          }),
        );
        echoed(ev.seq);
        return;
      }
      case "typing": {
        const t = item.value;
        if (t.roomId !== roomId || t.userId === meId) return;
        const name = await names.of(t.userId);
        const was = typists.has(t.userId);
        if (t.typing) typists.set(t.userId, name);
        else typists.delete(t.userId);
        if (tty) {
          setPrompt();
          rl.prompt(true);
        }
        if (was !== t.typing) {
          out.emit(
            tty ? undefined : `* ${name} ${t.typing ? "is typing…" : "stopped typing"}`,
            () => ({
              type: "typing",
              user: name,
              userId: String(t.userId),
              typing: t.typing,
            }),
          );
        }
        return;
      }
      case "presence": {
        const p = item.value;
        if (!members.has(p.userId) || p.userId === meId) return;
        if (p.online === online.has(p.userId)) return;
        if (p.online) online.add(p.userId);
        else online.delete(p.userId);
        const name = await names.of(p.userId);
        out.emit(`* ${name} ${p.online ? "is online" : "went offline"}`, () => ({
          type: "presence",
          user: name,
          userId: String(p.userId),
          online: p.online,
        }));
        return;
      }
      case "reset": {
        if (item.value.roomId !== roomId) return;
        out.emit("* too much happened meanwhile; the latest messages:", () => ({
          type: "reset",
          reset: toJson(ResetSchema, item.value),
        }));
        const msgs = item.history?.messages ?? [];
        await names.load(msgs.flatMap((m) => [m.senderId, ...systemIds(m)]));
        for (const m of msgs) showMessage(m);
        oldestShown = msgs[0]?.seq ?? oldestShown;
        echoed(item.value.lastSeq);
        return;
      }
      case "roomRemoved":
        if (item.value.roomId === roomId) {
          out.emit("* you are no longer in this room", () => ({ type: "removed" }));
          stop(1);
        }
        return;
      default:
        return;
    }
  };

  // Our own messages, until the feed has shown them (for a clean exit).
  let lastSentSeq = 0n;
  let echoWaiter: (() => void) | undefined;
  let shownThrough = page.lastSeq;
  function echoed(seq: bigint) {
    if (seq > shownThrough) shownThrough = seq;
    if (shownThrough >= lastSentSeq) echoWaiter?.();
  }

  const feedDone = (async () => {
    try {
      for await (const item of feed) await onItem(item);
    } catch (err) {
      out.error(err);
      stop(1);
    }
  })();

  // Typing, from keystrokes (terminal only).
  let typingSentAt = 0;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  const typingOff = () => {
    clearTimeout(typingIdle);
    typingIdle = undefined;
    if (typingSentAt !== 0) {
      typingSentAt = 0;
      actions.typing(false).catch(() => {});
    }
  };
  if (tty) {
    o.stdin.on("keypress", (_s: string, key: { name?: string } | undefined) => {
      if (key?.name === "return" || key?.name === "enter") return;
      queueMicrotask(() => {
        if (rl.line.trim() === "") return typingOff();
        const now = Date.now();
        if (now - typingSentAt >= TYPING_REPEAT_MS) {
          typingSentAt = now;
          actions.typing(true).catch(() => {});
        }
        clearTimeout(typingIdle);
        typingIdle = setTimeout(typingOff, TYPING_IDLE_MS);
      });
    });
  }

  // Input: messages and /commands, in order.
  let chain: Promise<void> = Promise.resolve();
  const handleLine = async (line: string) => {
    const text = line.trim();
    if (text === "") return;
    if (text.startsWith("/")) {
      const [cmd, arg] = text.slice(1).split(/\s+/, 2);
      switch (cmd) {
        case "help":
          out.emit(HELP, () => ({ type: "help", text: HELP }));
          return;
        case "quit":
        case "exit":
          stop(0);
          return;
        case "who": {
          const list = await Promise.all([...online].map((id) => names.of(id)));
          out.emit(
            list.length ? `* online: ${list.join(", ")}` : "* nobody else is online",
            () => ({ type: "who", online: list }),
          );
          return;
        }
        case "older": {
          const n = Math.min(200, Math.max(1, Number(arg) || 20));
          if (oldestShown === undefined || oldestShown <= 1n) return;
          const older = await client.messages.listMessages({
            roomId,
            anchor: { case: "beforeSeq", value: oldestShown },
            limit: n,
          });
          await names.load(older.messages.flatMap((m) => [m.senderId, ...systemIds(m)]));
          for (const m of older.messages) showMessage(m);
          oldestShown = older.messages[0]?.seq ?? oldestShown;
          return;
        }
        default:
          out.emit(`* unknown command /${cmd}; /help lists them`, () => ({
            type: "error",
            message: `unknown command /${cmd}`,
          }));
          return;
      }
    }
    typingOff();
    try {
      const res = await actions.send(text);
      const seq = res.message?.seq ?? 0n;
      if (seq > lastSentSeq) lastSentSeq = seq;
      out.emit(undefined, () => ({
        type: "sent",
        response: toJson(SendMessageResponseSchema, res),
      }));
    } catch (err) {
      out.error(err, "the message was not sent");
    }
  };
  rl.on("line", (line) => {
    chain = chain.then(() => handleLine(line)).catch((err: unknown) => out.error(err));
  });
  if (tty) rl.prompt();

  await new Promise<void>((resolve) => rl.once("close", () => resolve()));
  // End of input: finish what was typed, wait until it came back, leave.
  await chain;
  typingOff();
  if (!stopReason && lastSentSeq > shownThrough) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ECHO_WAIT_MS);
      echoWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (readTimer) {
    clearTimeout(readTimer);
    await actions.markRead(readWanted).catch(() => {});
  }
  feed.close();
  await feedDone;
  if (tty) o.stdout.write("\n");
  return stopReason?.code ?? 0;
}

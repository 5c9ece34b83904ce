/**
 * The reminder bot end to end: the real server and the bot as separate
 * processes, a user talking to it through the SDK. The server is killed
 * mid-conversation and started again, the bot is killed while commands
 * keep coming (more than the server replays, so it catches up from history)
 * and while a reminder is due, and once its state file is rewound as if it
 * had crashed after answering but before saving. Every command is answered
 * exactly once and the reminder is posted exactly once.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChatClient,
  createChatClient,
  type Message,
  type User,
  Visibility,
} from "@protochat/sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../../test/support/db.js";
import {
  fromSource,
  type NodeProcess,
  type ServerProcess,
  serverProcess,
  startNode,
} from "../../../test/support/processes.js";
import type { BotState } from "../src/state-file.js";

const password = "correct horse battery";
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerProcess;
let alice: ChatClient;
let bot: User;
let botName: string;
let room: bigint;
let dir: string;
let stateFile: string;
let proc: NodeProcess | undefined;
const botRuns: NodeProcess[] = [];

function startBot(): NodeProcess {
  const p = startNode("the bot", [...fromSource, "examples/reminder-bot/src/main.ts"], {
    env: {
      PROTOCHAT_URL: server.url,
      BOT_USERNAME: botName,
      BOT_PASSWORD: password,
      BOT_STATE_FILE: stateFile,
    },
  });
  botRuns.push(p);
  return p;
}

const live = (l: string) => l.includes('"event":"live"');

/** Everything in the room, oldest first. */
async function everything(): Promise<Message[]> {
  const out: Message[] = [];
  for await (const m of alice.history(room)) out.push(m);
  return out;
}

/** The bot's messages replying to each message id. */
async function replies(): Promise<Map<bigint, Message[]>> {
  const byParent = new Map<bigint, Message[]>();
  for (const m of await everything()) {
    if (m.senderId !== bot.id || !m.replyTo) continue;
    const list = byParent.get(m.replyTo.messageId) ?? [];
    list.push(m);
    byParent.set(m.replyTo.messageId, list);
  }
  return byParent;
}

async function answered(commands: Message[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await replies();
    const missing = commands.filter((c) => !r.has(c.id));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not answered: ${missing.map((m) => m.text).join(", ")}\nbot output:\n${proc?.tail()}`,
      );
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

const said: Message[] = [];
async function say(text: string): Promise<Message> {
  const res = await alice.send(room, text);
  if (!res.message) throw new Error("no message");
  said.push(res.message);
  return res.message;
}

beforeAll(async () => {
  db = await createTestDatabase();
  // A small replay limit: a bot that missed more catches up from history.
  server = await serverProcess(db.url, { FEED_MAX_REPLAY: "5" });
  alice = createChatClient({ baseUrl: server.url, httpVersion: "1.1" });
  const aliceName = `alice_${Date.now().toString(36)}`;
  botName = `remindbot_${Date.now().toString(36)}`;
  await alice.auth.register({ username: aliceName, password });
  await alice.login(aliceName, password);
  bot = (await alice.auth.register({ username: botName, password })).user as User;
  const created = await alice.rooms.createRoom({
    name: "with the bot",
    visibility: Visibility.PRIVATE,
    memberIds: [bot.id],
  });
  room = created.room?.id ?? 0n;
  dir = mkdtempSync(join(tmpdir(), "reminder-bot-"));
  stateFile = join(dir, "state.json");
}, 120_000);

afterAll(async () => {
  await proc?.stop("SIGKILL");
  await server?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the reminder bot", () => {
  it("answers every command once across server and bot restarts", async () => {
    proc = startBot();
    await proc.waitForLine(live);
    const first = [await say("!ping 1"), await say("!ping 2"), await say("!help")];
    await answered(first);

    // The server dies mid-conversation and comes back on the same port.
    const beforeCrash = [await say("!ping 3"), await say("!ping 4")];
    await server.stop("SIGKILL");
    await server.start();
    const afterCrash = [await say("!ping 5")];
    await answered([...beforeCrash, ...afterCrash]);

    // A reminder is acknowledged, then the bot dies before it is due; more
    // commands than the server replays arrive while it is away.
    const remind = await say("!remind 2s stretch");
    await answered([remind]);
    await proc.stop("SIGKILL");
    const whileAway: Message[] = [];
    for (let i = 6; i <= 11; i++) whileAway.push(await say(`!ping ${i}`));
    await new Promise((r) => setTimeout(r, 2_000)); // the reminder is due meanwhile
    proc = startBot();
    await answered(whileAway);
    const reminderPosted = async () =>
      ((await replies()).get(remind.id) ?? []).some((m) => m.text.startsWith("⏰ @"));
    for (let i = 0; i < 100 && !(await reminderPosted()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await reminderPosted()).toBe(true);
    expect(botRuns.some((p) => p.lines.some((l) => l.includes('"event":"reset"')))).toBe(true);

    // As if it crashed after answering 8..11 and posting the reminder but
    // before saving: the state file goes back. Nothing may be posted twice.
    await proc.stop("SIGKILL");
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as BotState;
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const eight = whileAway[2] as Message;
    state.positions[String(room)] = String(eight.seq - 1n);
    state.reminders.push({
      roomId: String(room),
      seq: String(remind.seq),
      messageId: String(remind.id),
      username: "someone",
      dueAt: Date.now(),
      text: "stretch",
    });
    writeFileSync(stateFile, JSON.stringify(state));
    proc = startBot();
    const last = [await say("!ping 12")];
    await answered(last);
    // It went over 8..11 and the reminder again: the server kept the first posts.
    await proc.waitForLine(
      (l) => l.includes('"event":"posted"') && l.includes(`"clientMsgId":"r${room}-${remind.seq}"`),
    );
    const dupes = proc.lines.filter((l) => l.includes('"duplicate":true'));
    expect(dupes.length).toBeGreaterThanOrEqual(5);

    // Exactly one answer per command, plus the one reminder.
    const r = await replies();
    for (const c of said) {
      const texts = (r.get(c.id) ?? []).map((m) => m.text);
      if (c.id === remind.id) {
        expect(texts).toHaveLength(2);
        expect(texts.filter((t) => t.startsWith("⏰ @"))).toEqual([
          expect.stringContaining("reminder: stretch"),
        ]);
      } else {
        expect(texts, c.text).toHaveLength(1);
      }
      if (c.text.startsWith("!ping ")) expect(texts[0]).toBe(`pong ${c.text.slice(6)}`);
    }
    const fromBot = (await everything()).filter((m) => m.senderId === bot.id);
    expect(fromBot).toHaveLength(said.length + 1);
  }, 180_000);
});

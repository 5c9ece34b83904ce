/**
 * protochat, the terminal client, driven through stdin and stdout against
 * the real server in its own process: the one-shot commands in JSON lines
 * and as text, the token file, the interactive mode over the Chat stream
 * (live messages, typing, presence, sends) and across a server restart,
 * the fall back to Subscribe plus unary calls behind an HTTP/1.1-only
 * proxy, and line editing with history on a real terminal (script(1)).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChatClient,
  createChatClient,
  type FeedItem,
  type ResumableFeed,
  Visibility,
} from "@protochat/sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../test/support/db.js";
import {
  fromSource,
  NodeProcess,
  repoRoot,
  type ServerProcess,
  serverProcess,
  startNode,
} from "../../test/support/processes.js";

const password = "correct horse battery";
const cliArgs = [...fromSource, "cli/src/main.ts"];
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerProcess;
let dir: string;
let configFile: string;
let aliceName: string;
let bob: ChatClient;
let bobId: bigint;
let lobby: bigint;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>[];
}

/** Runs one protochat command to the end. */
function protochat(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Run {
  const res = spawnSync(process.execPath, [...cliArgs, "--server", server.url, ...args], {
    cwd: repoRoot,
    input: opts.input ?? "",
    encoding: "utf8",
    env: { ...process.env, PROTOCHAT_CONFIG: configFile, ...opts.env },
    timeout: 60_000,
  });
  const json = args.includes("--json")
    ? res.stdout
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, json };
}

/** An interactive session with stdin open. */
function chat(args: string[], env: Record<string, string> = {}, url = server.url): NodeProcess {
  return startNode("protochat chat", [...cliArgs, "--server", url, "chat", ...args], {
    env: { PROTOCHAT_CONFIG: configFile, ...env },
    stdin: true,
  });
}

function type(p: NodeProcess, text: string): void {
  p.child.stdin?.write(text);
}

const record =
  (type: string, extra: (r: Record<string, unknown>) => boolean = () => true) =>
  (line: string) => {
    if (!line.startsWith("{")) return false;
    const r = JSON.parse(line) as Record<string, unknown>;
    return r.type === type && extra(r);
  };

function follow(feed: ResumableFeed): FeedItem[] {
  const items: FeedItem[] = [];
  void (async () => {
    try {
      for await (const i of feed) items.push(i);
    } catch {
      // closed
    }
  })();
  return items;
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const textsIn = (items: FeedItem[], roomId: bigint) =>
  items.flatMap((i) =>
    i.case === "roomEvent" && i.value.roomId === roomId && i.value.change.case === "messageCreated"
      ? [i.value.change.value.message?.text ?? ""]
      : [],
  );

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "protochat-cli-"));
  server = await serverProcess(db.url, { STORAGE_DIR: join(dir, "files") });
  configFile = join(dir, "config", "protochat.json");
  aliceName = `alice_${Date.now().toString(36)}`;
  const bobName = `bob_${Date.now().toString(36)}`;
  bob = createChatClient({ baseUrl: server.url });
  bobId = (await bob.auth.register({ username: bobName, password })).user?.id ?? 0n;
  await bob.login(bobName, password);
  const res = await bob.rooms.createRoom({ name: "lobby", visibility: Visibility.PUBLIC });
  lobby = res.room?.id ?? 0n;
  await bob.send(lobby, "welcome to the lobby");
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("one-shot commands", () => {
  it("register, rooms, join, send and history, as JSON lines and as text", async () => {
    const reg = protochat(["--json", "register", aliceName, "--password-stdin"], {
      input: `${password}\n`,
    });
    expect(reg.status, reg.stderr).toBe(0);
    expect(reg.json[0]).toMatchObject({ type: "login", user: { username: aliceName } });
    // The token is kept for the user only.
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "config")).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(configFile, "utf8"));
    expect(saved).toMatchObject({ server: server.url, username: aliceName });
    expect(saved.token).toMatch(/\S{20,}/);

    expect(protochat(["--json", "rooms"]).json).toEqual([]);
    const joined = protochat(["--json", "join", "lobby"]);
    expect(joined.json[0]).toMatchObject({ type: "joined", room: { name: "lobby" } });
    const rooms = protochat(["--json", "rooms"]);
    expect(rooms.json).toHaveLength(1);
    expect(rooms.json[0]).toMatchObject({ type: "room", room: { room: { id: String(lobby) } } });
    expect(protochat(["rooms"]).stdout).toMatch(/^#lobby · id \d+ · public · 2 members/);

    const sent = protochat(["--json", "send", "#lobby", "hello", "from", "the", "cli"]);
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.json[0]).toMatchObject({
      type: "sent",
      response: { message: { text: "hello from the cli" } },
    });
    // A script's retry with its own id stores nothing twice.
    const once = protochat(["--json", "send", "lobby", "once", "--client-msg-id", "script-1"]);
    const twice = protochat(["--json", "send", "lobby", "once", "--client-msg-id", "script-1"]);
    expect(once.json[0]).not.toHaveProperty("response.duplicate");
    expect(twice.json[0]).toMatchObject({ response: { duplicate: true } });
    const lines = protochat(["--json", "send", "lobby", "-"], { input: "line one\n\nline two\n" });
    expect(
      lines.json.map((r) => (r.response as { message: { text: string } }).message.text),
    ).toEqual(["line one", "line two"]);

    const hist = protochat(["--json", "history", "lobby", "--limit", "10"]);
    const texts = hist.json.map((r) => (r.message as { text?: string }).text ?? "");
    expect(texts.filter((t) => t !== "")).toEqual([
      "welcome to the lobby",
      "hello from the cli",
      "once",
      "line one",
      "line two",
    ]);
    expect(hist.json.every((r) => r.type === "message")).toBe(true);
    const human = protochat(["history", String(lobby), "--limit", "2"])
      .stdout.trim()
      .split("\n");
    expect(human).toEqual([
      expect.stringMatching(new RegExp(`^\\[\\d\\d:\\d\\d\\] ${aliceName}: line one$`)),
      expect.stringMatching(new RegExp(`^\\[\\d\\d:\\d\\d\\] ${aliceName}: line two$`)),
    ]);
    expect(protochat(["whoami"]).stdout).toContain(aliceName);
  });

  it("sends files with --file, which members download", async () => {
    const path = join(dir, "report.txt");
    writeFileSync(path, "quarterly numbers\n".repeat(50));
    const sent = protochat(["--json", "send", "lobby", "see attached", "--file", path]);
    expect(sent.status, sent.stderr).toBe(0);
    const response = sent.json[0]?.response as { message: { id: string } } | undefined;
    const messageId = BigInt(response?.message.id ?? 0);
    expect(sent.json[0]).toMatchObject({
      type: "sent",
      response: {
        message: {
          text: "see attached",
          attachments: [{ name: "report.txt", contentType: "text/plain; charset=utf-8" }],
        },
      },
    });
    const seen = await bob.messages.getMessage({ messageId });
    const url = seen.message?.attachments[0]?.url ?? "";
    const res = await fetch(server.url + url, {
      headers: { authorization: `Bearer ${await bob.token()}` },
    });
    expect(await res.text()).toBe(readFileSync(path, "utf8"));
  });

  it("explains failures with the code and a hint, and exits non-zero", async () => {
    const missing = protochat(["history", "nowhere"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no room named "nowhere".*\(not_found\)/);
    const bad = protochat(["--json", "send", "lobby", " "]);
    expect(bad.status).toBe(1);
    const err = JSON.parse(bad.stderr.trim().split("\n")[0] ?? "{}");
    expect(err).toMatchObject({
      type: "error",
      code: "invalid_argument",
      reason: "INVALID_FIELDS",
    });
    expect(err.fieldViolations[0].field).toBe("text");
    const usage = protochat(["history"]);
    expect(usage.status).toBe(2);
    const noLogin = protochat(["rooms"], { env: { PROTOCHAT_CONFIG: join(dir, "none.json") } });
    expect(noLogin.status).toBe(1);
    expect(noLogin.stderr).toContain("protochat login");
  });
});

describe("chat mode", () => {
  it("talks live over the Chat stream: messages, typing, presence, sends", async () => {
    const p = chat(["lobby", "--json", "--history", "1"]);
    try {
      await p.waitForLine(record("chat", (r) => r.stream === "Chat" && r.httpVersion === "2"));
      await p.waitForLine(record("status", (r) => r.state === "live"));
      // The history shown first ends where the feed starts.
      const history = p.lines.filter(record("message"));
      expect(history).toHaveLength(1);

      const bobFeed = bob.follow();
      const seen = follow(bobFeed);
      // Bob comes online, types, writes.
      await p.waitForLine(
        record("presence", (r) => r.online === true && r.userId === String(bobId)),
      );
      await bob.feed.setTyping({ roomId: lobby, typing: true });
      await p.waitForLine(record("typing", (r) => r.typing === true && r.userId === String(bobId)));
      await bob.send(lobby, "hi alice");
      await p.waitForLine(
        record("message", (r) => (r.message as { text: string }).text === "hi alice"),
      );

      type(p, "hi bob\n/who\n");
      await p.waitForLine(record("sent"));
      await p.waitForLine(record("who", (r) => (r.online as string[]).length === 1));
      await until(() => textsIn(seen, lobby).includes("hi bob"), "bob to get it");
      bobFeed.close();

      p.child.stdin?.end();
      expect(await p.exited).toBe(0);
      const own = p.lines.filter(
        record("message", (r) => (r.message as { text: string }).text === "hi bob"),
      );
      expect(own).toHaveLength(1); // shown once, from the feed
    } finally {
      await p.stop("SIGKILL");
    }
  });

  it("resumes across a server restart, showing each message once", async () => {
    const p = chat(["lobby", "--history", "0"]);
    try {
      await p.waitForLine((l) => l.startsWith("Chatting in #lobby over HTTP/2"));
      await bob.send(lobby, "before the restart");
      await p.waitForLine((l) => l.endsWith("before the restart"));
      await server.stop("SIGKILL");
      await p.waitForLine((l) => l.startsWith("* disconnected"));
      type(p, "typed while the server was down\n");
      await server.start();
      await bob.send(lobby, "after the restart");
      await p.waitForLine((l) => l.endsWith("after the restart"));
      await p.waitForLine((l) => l.endsWith("typed while the server was down"));
      p.child.stdin?.end();
      expect(await p.exited).toBe(0);
      const shown = p.lines
        .filter((l) => /\] \S+: /.test(l))
        .map((l) => l.replace(/^\[[^\]]+\] /, ""));
      expect(shown.filter((l) => l.endsWith("before the restart"))).toHaveLength(1);
      expect(shown.filter((l) => l.endsWith("after the restart"))).toHaveLength(1);
      expect(shown.filter((l) => l.endsWith("typed while the server was down"))).toHaveLength(1);
      const stored: string[] = [];
      for await (const m of bob.history(lobby)) stored.push(m.text);
      expect(stored.filter((t) => t === "typed while the server was down")).toHaveLength(1);
    } finally {
      await p.stop("SIGKILL");
    }
  });

  it("falls back to Subscribe and unary calls where HTTP/2 does not get through", async () => {
    // A reverse proxy that speaks HTTP/1.1 only, streaming both ways.
    const proxy = http.createServer((req, res) => {
      const up = http.request(
        `${server.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      res.on("close", () => up.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const token = JSON.parse(readFileSync(configFile, "utf8")).token as string;
    const p = chat(["lobby", "--json", "--history", "0"], { PROTOCHAT_TOKEN: token }, proxyUrl);
    try {
      await p.waitForLine(
        record("chat", (r) => r.stream === "Subscribe" && r.httpVersion === "1.1"),
      );
      await p.waitForLine(record("status", (r) => r.state === "live"));
      await bob.feed.setTyping({ roomId: lobby, typing: true });
      await p.waitForLine(record("typing", (r) => r.typing === true));
      await bob.send(lobby, "through the proxy");
      await p.waitForLine(
        record("message", (r) => (r.message as { text: string }).text === "through the proxy"),
      );
      type(p, "back through the proxy\n");
      p.child.stdin?.end();
      expect(await p.exited).toBe(0);
      expect(
        p.lines.some(
          record(
            "message",
            (r) => (r.message as { text: string }).text === "back through the proxy",
          ),
        ),
      ).toBe(true);
    } finally {
      await p.stop("SIGKILL");
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("on a terminal: sends typing while you type, edits lines, recalls history", async () => {
    const hasScript = spawnSync("script", ["--version"]).status === 0;
    if (!hasScript) throw new Error("script(1) from util-linux is needed for this test");
    const bobFeed = bob.follow();
    const seen = follow(bobFeed);
    const node = [
      process.execPath,
      ...cliArgs,
      "--server",
      server.url,
      "chat",
      "lobby",
      "--history",
      "0",
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const child = spawn("script", ["-qfec", node, "/dev/null"], {
      cwd: repoRoot,
      env: { ...process.env, PROTOCHAT_CONFIG: configFile, TERM: "xterm" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const term = new NodeProcess("protochat on a terminal", child);
    try {
      await until(() => term.lines.some((l) => l.includes("Chatting in #lobby")), "the greeting");
      // Bob's presence is shown once the line editor runs (keys typed before
      // it starts would reach a terminal still in line mode).
      await until(() => term.lines.some((l) => l.includes("is online")), "bob's presence");
      // Typing "helo", fixing it with backspace and arrows, sends typing.
      type(term, "helo");
      await until(
        () => seen.some((i) => i.case === "typing" && i.value.typing && i.value.roomId === lobby),
        "bob to see alice typing",
      );
      type(term, "\x7f\x7fllo\r"); // backspace twice: "he" + "llo"
      await until(() => textsIn(seen, lobby).includes("hello"), "the message");
      type(term, "\x1b[A\r"); // up arrow: the line again
      await until(
        () => textsIn(seen, lobby).filter((t) => t === "hello").length === 2,
        "the recalled line",
      );
      // Bob typing shows in the prompt.
      await bob.feed.setTyping({ roomId: lobby, typing: false });
      await bob.feed.setTyping({ roomId: lobby, typing: true });
      await until(() => term.raw.includes("is typing…] > "), "the typing prompt").catch((e) => {
        throw new Error(`${e}: ${JSON.stringify(term.raw.slice(-600))}`);
      });
      type(term, "\x04"); // Ctrl-D
      await term.exited;
    } finally {
      bobFeed.close();
      await term.stop("SIGKILL");
    }
  });
});

describe("logout", () => {
  it("revokes the token on the server and forgets it", async () => {
    const token = JSON.parse(readFileSync(configFile, "utf8")).token as string;
    const out = protochat(["logout"]);
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(readFileSync(configFile, "utf8"))).not.toHaveProperty("token");
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const revoked = createChatClient({ baseUrl: server.url, token });
    await expect(revoked.users.getMe({})).rejects.toMatchObject({ code: 16 });
    const after = protochat(["whoami"]);
    expect(after.status).toBe(1);
    expect(after.stderr).toContain("protochat login");
  });
});

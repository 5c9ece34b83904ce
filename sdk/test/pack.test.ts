/**
 * The package as its users get it: `npm pack` builds the SDK (tsc: ESM and
 * .d.ts), the tarball is installed with npm into an empty folder outside
 * the repository (its dependencies come from the registry), a TypeScript
 * file type-checks against it, and a plain script logs in, follows a room
 * across a server restart (the real server, killed and started again) and
 * answers, with nothing missed or doubled. The terminal client, packed
 * the same way, runs from that folder too.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createChatClient, type Message, Visibility } from "@protochat/sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../test/support/db.js";
import {
  type NodeProcess,
  repoRoot,
  type ServerProcess,
  serverProcess,
  startNode,
} from "../../test/support/processes.js";

const password = "correct horse battery";
const sdkDir = join(repoRoot, "sdk");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerProcess;
let work: string;
let app: string;
let tarball: string;

/** The script a user writes: log in, follow, answer "ping N" with "pong N". */
const SCRIPT = `
import { createChatClient, positionsToJson } from "@protochat/sdk/node";

const [url, username, password, roomArg] = process.argv.slice(2);
const room = BigInt(roomArg);
const chat = createChatClient({ baseUrl: url });
await chat.login(username, password);
const feed = chat.follow();
for await (const item of feed) {
  if (item.case === "status") console.log(JSON.stringify({ status: item.value.state }));
  if (item.case !== "roomEvent" || item.value.roomId !== room) continue;
  const change = item.value.change;
  if (change.case !== "messageCreated") continue;
  const text = change.value.message.text;
  console.log(JSON.stringify({ seq: String(item.value.seq), text }));
  if (text === "done") break;
  if (text.startsWith("ping ")) {
    await chat.send(room, "pong " + text.slice(5), { replyToId: change.value.message.id });
  }
}
console.log(JSON.stringify({ positions: positionsToJson(feed.positions()) }));
`;

/** A TypeScript user of the types, checked with tsc. */
const TYPED = `
import { createChatClient, decodeError, ErrorReason, type FeedItem } from "@protochat/sdk/node";
import { createChatClient as createWebClient } from "@protochat/sdk/web";
import type { Message } from "@protochat/sdk/gen/chat/v1/message_pb.js";

const chat = createChatClient({ baseUrl: "http://localhost:8080", getToken: async () => "t" });
const web = createWebClient({ baseUrl: "http://localhost:8080", token: "t" });
export async function first(): Promise<Message | undefined> {
  for await (const item of chat.follow({ reloadOnReset: true })) {
    const i: FeedItem = item;
    if (i.case === "reset") return i.history?.messages[0];
    if (i.case === "roomEvent" && i.value.change.case === "messageCreated") {
      return i.value.change.value.message;
    }
  }
  return undefined;
}
export function reason(err: unknown): boolean {
  return decodeError(err).reason === ErrorReason.RATE_LIMITED;
}
export const both = [chat.send, web.send];
`;

/** The first ```ts block after `heading` in a markdown file of the repository. */
function example(file: string, heading: string): string {
  const text = readFileSync(join(repoRoot, file), "utf8");
  const at = text.indexOf(heading);
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (at < 0 || !block?.[1]) throw new Error(`no example under ${heading} in ${file}`);
  return block[1];
}

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await serverProcess(db.url);
  work = mkdtempSync(join(tmpdir(), "protochat-pack-"));
  // npm pack runs the package's prepack (the tsc build) first.
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], sdkDir));
  tarball = join(work, packed[0].filename);
  // The terminal client on the SDK just built (its own prepack would build
  // the SDK a second time).
  execFileSync(join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
    cwd: join(repoRoot, "cli"),
  });
  const cli = JSON.parse(
    npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], join(repoRoot, "cli")),
  );
  app = join(work, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "uses-protochat", private: true, type: "module" }),
  );
  npm(
    [
      "install",
      "--no-audit",
      "--prefer-offline",
      tarball,
      join(work, cli[0].filename),
      "typescript@5.9.3",
      "@types/node@20.19.43",
    ],
    app,
  );
}, 240_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed SDK", () => {
  it("installs with the repository's exact connect and protobuf versions; its users and the README examples type-check", () => {
    expect(app.startsWith(repoRoot)).toBe(false);
    const pkg = JSON.parse(
      readFileSync(join(app, "node_modules/@protochat/sdk/package.json"), "utf8"),
    );
    expect(pkg.version).toBe("0.1.0");
    expect(pkg.dependencies).toEqual({
      "@bufbuild/protobuf": "2.17.0",
      "@connectrpc/connect": "2.1.2",
      "@connectrpc/connect-node": "2.1.2",
      "@connectrpc/connect-web": "2.1.2",
    });
    const installed = (name: string) =>
      JSON.parse(readFileSync(join(app, "node_modules", name, "package.json"), "utf8")).version;
    expect(installed("@connectrpc/connect")).toBe("2.1.2");
    expect(installed("@bufbuild/protobuf")).toBe("2.17.0");
    writeFileSync(join(app, "typed.ts"), TYPED);
    writeFileSync(join(app, "readme.ts"), example("README.md", "## Use it from your service"));
    writeFileSync(join(app, "sdk-readme.ts"), example("sdk/README.md", "## A bot in 15 lines"));
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          types: ["node"],
          lib: ["ES2023", "DOM"],
        },
        files: ["typed.ts", "readme.ts", "sdk-readme.ts"],
      }),
    );
    execFileSync(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], {
      cwd: app,
      encoding: "utf8",
    });
  });

  it("logs in, follows a room across a server restart and answers, nothing missed or doubled", async () => {
    const alice = createChatClient({ baseUrl: server.url, httpVersion: "1.1" });
    const stamp = Date.now().toString(36);
    await alice.auth.register({ username: `alice_${stamp}`, password });
    await alice.login(`alice_${stamp}`, password);
    const bob = (await alice.auth.register({ username: `bob_${stamp}`, password })).user;
    const room =
      (
        await alice.rooms.createRoom({
          name: "packed",
          visibility: Visibility.PRIVATE,
          memberIds: [bob?.id ?? 0n],
        })
      ).room?.id ?? 0n;
    writeFileSync(join(app, "follow.mjs"), SCRIPT);
    const script: NodeProcess = startNode(
      "the script",
      ["follow.mjs", server.url, `bob_${stamp}`, password, String(room)],
      { cwd: app },
    );
    try {
      const live = (l: string) => l.includes('"status":"live"');
      const got = (text: string) => (l: string) => l.includes(`"text":"${text}"`);
      await script.waitForLine(live);
      for (const n of [1, 2, 3]) await alice.send(room, `ping ${n}`);
      await script.waitForLine(got("pong 3"));

      await server.stop("SIGKILL");
      const down = script.lines.length;
      await server.start();
      await script.waitForLine(live, { from: down });
      for (const n of [4, 5, 6]) await alice.send(room, `ping ${n}`);
      await script.waitForLine(got("pong 6"));
      await alice.send(room, "done");
      expect(await script.exited).toBe(0);

      const seen = script.lines
        .filter((l) => l.startsWith('{"seq"'))
        .map((l) => JSON.parse(l) as { seq: string; text: string });
      const stored: Message[] = [];
      for await (const m of alice.history(room)) stored.push(m);
      const texts = stored.filter((m) => m.senderId !== 0n).map((m) => m.text);
      // Everything the room holds after the script started, once and in order.
      expect(seen.map((s) => s.text)).toEqual(texts);
      expect(seen.map((s) => BigInt(s.seq))).toEqual(
        stored.filter((m) => m.senderId !== 0n).map((m) => m.seq),
      );
      for (const n of [1, 2, 3, 4, 5, 6]) {
        expect(texts.filter((t) => t === `pong ${n}`)).toHaveLength(1);
      }
      const positions = JSON.parse(script.lines.at(-1) ?? "{}").positions;
      expect(positions[String(room)]).toBe(seen.at(-1)?.seq);

      // The installed terminal client reads the same conversation.
      const protochat = (args: string[], input = "") =>
        execFileSync(join(app, "node_modules/.bin/protochat"), ["--server", server.url, ...args], {
          cwd: app,
          input,
          encoding: "utf8",
          env: { ...process.env, PROTOCHAT_CONFIG: join(work, "protochat.json") },
        });
      protochat(["login", `bob_${stamp}`, "--password-stdin"], `${password}\n`);
      const lines = protochat(["--json", "history", String(room), "--limit", "2"])
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).message.text);
      expect(lines).toEqual(["pong 6", "done"]);
    } finally {
      await script.stop("SIGKILL");
    }
  });
});

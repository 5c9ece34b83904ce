/**
 * protochat, the terminal client.
 *
 *   protochat login <username> [--password-stdin]
 *   protochat register <username> [--display-name NAME] [--password-stdin]
 *   protochat logout | whoami | rooms
 *   protochat join <room>
 *   protochat history <room> [--limit N] [--before SEQ]
 *   protochat send <room> <text...>     (or one message per stdin line: send <room> -)
 *   protochat chat <room> [--history N]
 *
 * Global: --server URL (else $PROTOCHAT_URL, the saved server, or
 * http://localhost:8080), --json (JSON lines), --config PATH, --http1.
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@protochat/sdk";
import { chatMode } from "./chat-mode.js";
import * as commands from "./commands.js";
import { configPath, loadConfig } from "./config.js";
import { Output } from "./output.js";

const USAGE = `usage: protochat [--server URL] [--json] [--config PATH] [--http1] <command> [args]

commands:
  login <username> [--password-stdin]    log in; the token is saved in the config file
  register <username> [--display-name NAME] [--password-stdin]
  logout                                 revoke the token and forget it
  whoami                                 who the saved token belongs to
  rooms                                  your rooms, with unread counts
  join <room>                            join a public room (id or name)
  history <room> [--limit N] [--before SEQ]
  send <room> <text...>                  send a message (send <room> - : one per stdin line)
  send <room> [text...] --file PATH      send files (repeat --file), with optional text
  chat <room> [--history N]              talk live (Ctrl-D to leave)

<room> is an id, a name (general or #general) or @username for a direct conversation.
--json prints one JSON object per line. The server is --server, else $PROTOCHAT_URL,
else the one you logged in to, else http://localhost:8080.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: "string" },
        json: { type: "boolean", default: false },
        config: { type: "string" },
        http1: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
        "password-stdin": { type: "boolean", default: false },
        "display-name": { type: "string" },
        limit: { type: "string" },
        before: { type: "string" },
        history: { type: "string" },
        "reply-to": { type: "string" },
        "client-msg-id": { type: "string" },
        file: { type: "string", multiple: true },
      },
    });
  }
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`protochat: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const out = new Output(v.json);
  if (v.version) {
    out.emit(version(), () => ({ type: "version", version: version() }));
    return 0;
  }
  const [command, ...args] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || v.help ? 0 : 2;
  }

  const path = v.config ?? configPath();
  const config = loadConfig(path, (msg) => out.note(`warning: ${msg}`));
  const server = (v.server ?? process.env.PROTOCHAT_URL ?? config.server ?? "http://localhost:8080")
    .trim()
    .replace(/\/+$/, "");
  // A saved token belongs to the server it came from.
  const token =
    process.env.PROTOCHAT_TOKEN || (config.server === server ? config.token : undefined);
  const ctx: commands.Context = {
    out,
    server,
    token,
    configPath: path,
    config,
    http1: v.http1,
    stdin: process.stdin,
    options: {
      passwordStdin: v["password-stdin"],
      displayName: v["display-name"],
      limit: v.limit,
      before: v.before,
      replyTo: v["reply-to"],
      clientMsgId: v["client-msg-id"],
      files: v.file,
    },
  };

  try {
    switch (command) {
      case "login":
        await commands.login(ctx, args);
        return 0;
      case "register":
        await commands.register(ctx, args);
        return 0;
      case "logout":
        await commands.logout(ctx);
        return 0;
      case "whoami":
        await commands.whoami(ctx);
        return 0;
      case "rooms":
        await commands.rooms(ctx);
        return 0;
      case "join":
        await commands.join(ctx, args);
        return 0;
      case "history":
        await commands.history(ctx, args);
        return 0;
      case "send":
        await commands.send(ctx, args);
        return 0;
      case "chat": {
        if (!args[0]) throw new ConnectError("usage: protochat chat <room>", Code.InvalidArgument);
        if (!token) {
          throw new ConnectError(
            `not logged in to ${server}: run protochat login`,
            Code.Unauthenticated,
          );
        }
        const historyCount = v.history === undefined ? 20 : Number(v.history);
        if (!Number.isInteger(historyCount) || historyCount < 0 || historyCount > 200) {
          throw new ConnectError("--history must be 0-200", Code.InvalidArgument);
        }
        return await chatMode(args[0], {
          out,
          server,
          token,
          http1: v.http1,
          stdin: process.stdin,
          stdout: process.stdout,
          historyCount,
        });
      }
      default:
        process.stderr.write(`protochat: unknown command ${command}\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    const ce = ConnectError.from(err);
    const hint =
      ce.code === Code.Unauthenticated && command !== "login" && command !== "register"
        ? "Log in with: protochat login <username>"
        : undefined;
    out.error(ce, hint);
    return ce.code === Code.InvalidArgument && ce.rawMessage.startsWith("usage:") ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// Open HTTP/2 sessions would keep the process alive a while: leave now.
process.exit();

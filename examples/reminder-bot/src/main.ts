/**
 * The reminder bot's process: reads its settings from the environment,
 * logs in as its own account (and again whenever the server refuses its
 * token), runs the bot until SIGTERM/SIGINT and keeps its state in a file.
 * Logs are JSON lines on stdout.
 *
 *   PROTOCHAT_URL=http://localhost:8080 BOT_USERNAME=remindbot BOT_PASSWORD=... \
 *     BOT_STATE_FILE=./reminder-bot.state.json npm start
 */
import { Code, ConnectError, createChatClient, isTransient, withRetry } from "@protochat/sdk/node";
import { ReminderBot } from "./reminder-bot.js";
import { loadState, saveState } from "./state-file.js";

function log(event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ time: new Date().toISOString(), event, ...fields }, (_k, v) =>
    typeof v === "bigint" ? v.toString() : v,
  );
  process.stdout.write(`${line}\n`);
}

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) {
    process.stderr.write(`${name} is required (see examples/reminder-bot/README.md)\n`);
    process.exit(2);
  }
  return value;
}

const baseUrl = setting("PROTOCHAT_URL", "http://localhost:8080");
const username = setting("BOT_USERNAME");
const password = setting("BOT_PASSWORD");
const stateFile = setting("BOT_STATE_FILE", "reminder-bot.state.json");
const httpVersion = setting("BOT_HTTP_VERSION", "2") === "1.1" ? "1.1" : "2";

const stop = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.once(sig, () => {
    log("stopping", { signal: sig });
    stop.abort();
  });
}

const client = createChatClient({
  baseUrl,
  httpVersion,
  // Logs in at start and whenever the token is refused (expired, revoked).
  getToken: async () =>
    (await client.auth.login({ username, password, deviceName: "reminder-bot" })).accessToken,
});

try {
  const state = loadState(stateFile);
  // The server may not be up yet: wait for it rather than give up.
  const me = await withRetry(
    async () => (await client.users.getMe({})).user,
    { maxAttempts: Number.POSITIVE_INFINITY, retryable: isTransient },
    stop.signal,
  );
  if (!me) throw new Error("GetMe returned no user");
  log("started", { user: me.username, userId: me.id, stateFile });
  const bot = new ReminderBot({
    client,
    me,
    state,
    save: (s) => saveState(stateFile, s),
    log,
    signal: stop.signal,
  });
  await bot.run();
  log("stopped");
  process.exit(0);
} catch (err) {
  if (stop.signal.aborted) {
    log("stopped");
    process.exit(0);
  }
  const ce = ConnectError.from(err);
  log("failed", { code: Code[ce.code], error: ce.rawMessage });
  process.exit(1);
}

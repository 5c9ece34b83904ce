/**
 * Where the client keeps its login: one JSON file,
 * `$PROTOCHAT_CONFIG`, else `$XDG_CONFIG_HOME/protochat/config.json`, else
 * `~/.config/protochat/config.json`, holding the server URL, the access
 * token and who it belongs to. The token is a password equivalent until it
 * expires or is revoked (`protochat logout`), so the file is created 0600
 * in a 0700 directory, rewritten atomically, and a file others can read
 * is reported.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** The saved login. */
export interface Config {
  server?: string;
  token?: string;
  username?: string;
  userId?: string;
}

/** The config file's path for this environment. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PROTOCHAT_CONFIG) return env.PROTOCHAT_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "protochat", "config.json");
}

/** Reads the config; empty when there is none. `warn` hears about loose permissions. */
export function loadConfig(path: string, warn: (msg: string) => void = () => {}): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  if (process.platform !== "win32" && (statSync(path).mode & 0o077) !== 0) {
    warn(`${path} can be read by other users; run: chmod 600 ${path}`);
  }
  const parsed = JSON.parse(text) as Config;
  return typeof parsed === "object" && parsed ? parsed : {};
}

/** Writes the config (0600, atomically). */
export function saveConfig(path: string, config: Config): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600); // whatever the umask
  renameSync(tmp, path);
}

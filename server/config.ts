/**
 * Every setting of the server, its default and what it means: the settings
 * (config-settings.ts) and the code tunables (tuning.ts) are re-exported
 * here, the one place modules take their options from.
 *
 * Settings an operator sets are environment variables ({@link settings}):
 * read and validated at start by {@link loadConfig}, every problem reported
 * at once with what to set, and documented by {@link configTable} (the
 * README's table is checked against it by a test). Tunables that are code
 * constants rather than deployment choices are in {@link tuning}. Modules
 * take their options from here; none keeps defaults of its own.
 *
 * A leaf module with its two parts: it imports nothing else from the
 * server, so every layer may import it.
 */
import { type Reader, settings } from "./config-settings.js";
import type { Config } from "./config-types.js";

export { parseHostList, redact, settings } from "./config-settings.js";
export type { Config, FeedConfig, LimitsConfig } from "./config-types.js";
export { tuning } from "./tuning.js";

/** Thrown by {@link loadConfig}; `problems` lists every invalid variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates the configuration from `env` (usually `process.env`). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const str = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  };
  const reader: Reader = {
    str,
    int(name, fallback, min, max) {
      const raw = str(name, String(fallback));
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        problems.push(`${name}="${raw}" must be an integer from ${min} to ${max}`);
        return fallback;
      }
      return n;
    },
    bool(name, fallback) {
      const raw = str(name, String(fallback)).toLowerCase();
      if (["1", "true", "yes", "on"].includes(raw)) return true;
      if (["0", "false", "no", "off"].includes(raw)) return false;
      problems.push(`${name}="${raw}" must be true or false`);
      return fallback;
    },
    out: { feed: {}, limits: {}, webhooks: {} } as Config,
    problem: (m) => problems.push(m),
  };
  for (const s of settings) s.read(reader);
  // Several processes share state only through Redis (fan-out, presence, revocation).
  if (reader.out.workers !== 1 && !reader.out.redisUrl) {
    problems.push(
      `WORKERS=${reader.out.workers} needs REDIS_URL: processes share state through Redis`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return reader.out;
}

/** The configuration with every variable unset. */
export const defaults: Config = loadConfig({});

/** The README's configuration table, as markdown rows (checked by a test). */
export function configTable(): string[] {
  return [
    "| variable | default | meaning |",
    "| --- | --- | --- |",
    ...settings.map((s) => `| \`${s.env}\` | ${s.shown} | ${s.doc} |`),
  ];
}

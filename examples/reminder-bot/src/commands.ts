/**
 * The bot's commands, parsed from message text: pure functions, no I/O.
 *
 *   !ping [anything]           → pong [anything]
 *   !remind <when> <text>      → a reminder in <when> (e.g. 90s, 10m, 1h30m, 2d)
 *   !reminders                 → your pending reminders in this room
 *   !help                      → this list
 */

/** A parsed command. */
export type Command =
  | { kind: "ping"; rest: string }
  | { kind: "remind"; delayMs: number; text: string }
  | { kind: "reminders" }
  | { kind: "help" }
  | { kind: "invalid"; reply: string };

/** Longest reminder delay: 30 days. */
export const MAX_DELAY_MS = 30 * 24 * 3600 * 1000;

export const HELP = [
  "I answer:",
  "!ping — pong",
  "!remind <when> <text> — e.g. !remind 10m stretch (s, m, h, d; 1h30m works)",
  "!reminders — your pending reminders here",
  "!help — this",
].join("\n");

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `10m`, `1h30m`, `2d`; undefined if it is not a duration. */
export function parseDuration(s: string): number | undefined {
  if (!/^(\d+[smhd])+$/.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * (UNITS[m[2] ?? "s"] ?? 0);
  return ms;
}

/** Formats a delay as the shortest `1h30m`-style text. */
export function formatDuration(ms: number): string {
  let left = Math.round(ms / 1000);
  if (left <= 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(left / size);
    if (n > 0) parts.push(`${n}${unit}`);
    left -= n * size;
  }
  return parts.join("");
}

/** The command in a message, or undefined if the message is not one. */
export function parseCommand(text: string): Command | undefined {
  const trimmed = text.trim();
  const m = /^!([a-z]+)(?:\s+([\s\S]*))?$/i.exec(trimmed);
  if (!m) return undefined;
  const name = (m[1] ?? "").toLowerCase();
  const rest = (m[2] ?? "").trim();
  switch (name) {
    case "ping":
      return { kind: "ping", rest };
    case "help":
      return { kind: "help" };
    case "reminders":
      return { kind: "reminders" };
    case "remind": {
      const [when = "", ...words] = rest.split(/\s+/);
      const delayMs = parseDuration(when.toLowerCase());
      const what = words.join(" ").trim();
      if (delayMs === undefined || what === "") {
        return { kind: "invalid", reply: "Usage: !remind <when> <text>, e.g. !remind 10m stretch" };
      }
      if (delayMs > MAX_DELAY_MS) {
        return { kind: "invalid", reply: "I remember things for 30 days at most." };
      }
      return { kind: "remind", delayMs, text: what.slice(0, 1000) };
    }
    default:
      return { kind: "invalid", reply: `I don't know !${name}. Try !help.` };
  }
}

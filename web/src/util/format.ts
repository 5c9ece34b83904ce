/**
 * Friendly times, day separators, names and initials. Times use the
 * browser's time zone; `now` is passed in so tests are deterministic.
 */

import type { User } from "@protochat/sdk";
import { MemberRole } from "@protochat/sdk";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LONG_MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const pad = (n: number) => String(n).padStart(2, "0");

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Whole calendar days from `d` to `now` (0: same day, 1: yesterday). */
export function daysAgo(d: Date, now: Date): number {
  return Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
}

export function clock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "14:05", "Yesterday 14:05", "Mar 3 14:05", "Mar 3, 2023 14:05". */
export function friendlyTime(d: Date, now: Date = new Date()): string {
  const days = daysAgo(d, now);
  if (days === 0) return clock(d);
  if (days === 1) return `Yesterday ${clock(d)}`;
  if (d.getFullYear() === now.getFullYear()) {
    return `${MONTHS[d.getMonth()]} ${d.getDate()} ${clock(d)}`;
  }
  return `${MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()} ${clock(d)}`;
}

/** Short time for the room list: "14:05", "Yesterday", "Mar 3", "Mar 3, 2023". */
export function shortTime(d: Date, now: Date = new Date()): string {
  const days = daysAgo(d, now);
  if (days === 0) return clock(d);
  if (days === 1) return "Yesterday";
  if (d.getFullYear() === now.getFullYear()) return `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  return `${MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()}`;
}

/** "Today", "Yesterday", "Monday, March 3", "Monday, March 3, 2023". */
export function dayLabel(d: Date, now: Date = new Date()): string {
  const days = daysAgo(d, now);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const base = `${DAYS[d.getDay()]}, ${LONG_MONTHS[d.getMonth()]} ${d.getDate()}`;
  return d.getFullYear() === now.getFullYear() ? base : `${base}, ${d.getFullYear()}`;
}

export function sameDay(a: Date, b: Date): boolean {
  return startOfDay(a) === startOfDay(b);
}

export function displayName(u: User | undefined, fallback = "Unknown user"): string {
  if (!u) return fallback;
  return u.displayName || u.username;
}

/** Up to two letters from the name's words. */
export function initials(name: string): string {
  const words = name
    .replace(/[_.-]+/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const first = (w: string | undefined) => [...(w ?? "")][0] ?? "";
  const letters = words.length >= 2 ? first(words[0]) + first(words[1]) : first(words[0]);
  return letters.toUpperCase() || "?";
}

/** A stable hue for a user id, for avatar colours. */
export function hueOf(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  // Golden-angle steps keep neighbouring ids far apart on the wheel.
  return Math.round((h * 137.508) % 360);
}

export function roleName(role: MemberRole): string {
  switch (role) {
    case MemberRole.OWNER:
      return "owner";
    case MemberRole.ADMIN:
      return "admin";
    case MemberRole.MEMBER:
      return "member";
    default:
      return "";
  }
}

/** "Alice is typing…", "Alice and Bob are typing…", "Several people are typing…". */
export function typingText(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return "Several people are typing…";
}

export interface TextPart {
  text: string;
  mention?: string;
}

/** Splits text into plain runs and `@username` mentions (rendered as text, never HTML). */
export function splitMentions(text: string): TextPart[] {
  const parts: TextPart[] = [];
  const re = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{3,32})/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + (m[1]?.length ?? 0);
    const username = (m[2] ?? "").replace(/[.-]+$/, "");
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: `@${username}`, mention: username });
    last = start + 1 + username.length;
    re.lastIndex = last;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

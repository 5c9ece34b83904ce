/**
 * What the bot keeps across its restarts, in one JSON file: where its feed
 * stands in each room and the reminders not yet sent. Written whole to a
 * temporary file, flushed, then renamed over the old one, so a crash leaves
 * either the old or the new state, never half of one. Readable by its owner
 * only (it says what was said in private rooms).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import type { PositionsJson } from "@protochat/sdk";

/** A reminder not yet sent. */
export interface Reminder {
  roomId: string;
  /** Sequence of the `!remind` message (names the reminder). */
  seq: string;
  /** The `!remind` message, which the reminder replies to. */
  messageId: string;
  username: string;
  /** When it is due (ms since the epoch). */
  dueAt: number;
  text: string;
}

/** The file's content. */
export interface BotState {
  version: 1;
  positions: PositionsJson;
  reminders: Reminder[];
}

export function emptyState(): BotState {
  return { version: 1, positions: {}, reminders: [] };
}

/** Reads the state; a missing file is a first start. */
export function loadState(path: string): BotState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<BotState>;
  if (parsed.version !== 1) throw new Error(`${path}: unknown state version ${parsed.version}`);
  return { version: 1, positions: parsed.positions ?? {}, reminders: parsed.reminders ?? [] };
}

/** Replaces the state file atomically. */
export function saveState(path: string, state: BotState): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

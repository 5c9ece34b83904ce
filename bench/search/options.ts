/**
 * Command-line options of `npm run bench -- search`.
 */
import { int, parseOptions, recordOptions, usage } from "../lib/options.js";

/** A validated search run. */
export interface SearchOptions {
  /** Messages stored before measuring. */
  messages: number;
  /** Rooms they are spread over. */
  rooms: number;
  /** Rooms the searching user is a member of. */
  memberOf: number;
  /** Searches per query and scope. */
  repeat: number;
  /** Single-message send transactions measured with and without tokens, each. */
  sends: number;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- search",
  options: {
    messages: int(1_000_000, 1000, 20_000_000, "messages in the index (Chinese and English)"),
    rooms: int(1000, 1, 100_000, "rooms the messages are spread over"),
    "member-of": int(100, 1, 100_000, "rooms the searching user is a member of"),
    repeat: int(30, 1, 10_000, "searches per query and scope"),
    sends: int(1000, 10, 100_000, "one-message transactions timed with and without tokens"),
    ...recordOptions("search"),
  },
  notes: `Talks to MariaDB directly (no server process): the stored messages are
bulk-inserted with their tokens (the FULLTEXT index kept up), then the
domain's searchMessages is timed as a member of --member-of rooms and in one
room. environment: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`,
};

/** Usage text. */
export const searchUsage = usage(command);

/** Parses `argv` (the arguments after "search"). */
export function parseSearchOptions(argv: string[]): SearchOptions {
  const v = parseOptions(argv, command, (v) =>
    v["member-of"] > v.rooms ? ["--member-of must not exceed --rooms"] : [],
  );
  return {
    messages: v.messages,
    rooms: v.rooms,
    memberOf: v["member-of"],
    repeat: v.repeat,
    sends: v.sends,
    save: !v["no-save"],
    note: v.note,
  };
}

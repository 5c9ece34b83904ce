/**
 * Command-line options of `npm run bench -- storm`.
 */
import { type ClientProtocol, clientProtocols } from "./client-pool.js";
import { parseScenarioOptions, rejectIf } from "./scenario-options.js";

/** A validated storm run. */
export interface StormOptions {
  /** Subscribe calls started at once. */
  subscribers: number;
  protocol: ClientProtocol;
  /** `grpc-h2-multi`: streams per HTTP/2 session. */
  perSession: number;
  /** Streams per account (≤ the server's FEED_MAX_STREAMS_PER_USER, set to this). */
  streamsPerUser: number;
  /** Rooms every account is a member of (each `ready` lists them all). */
  rooms: number;
  /** Calls start evenly over this many ms (0: all in one go). */
  spreadMs: number;
  /** A call without `ready` after this many seconds counts as failed ("timeout"). */
  timeoutS: number;
  /** Seconds to keep every stream open after the last `ready` (drops are counted). */
  holdS: number;
  save: boolean;
  note: string;
}

export const stormUsage = `usage: npm run bench -- storm [options]

  --subscribers K       Subscribe calls started at once (default 1000, at most 50000)
  --protocol P          ${clientProtocols.join(" | ")} (default connect-h1)
  --per-session N       grpc-h2-multi: streams per HTTP/2 session (default 100)
  --streams-per-user N  streams per account (default 100, at most 1000)
  --rooms R             rooms every account is in (default 1)
  --spread-ms MS        start the calls evenly over MS ms instead of at once (default 0)
  --timeout S           a call without ready after S s fails as "timeout" (default 60)
  --hold S              keep the streams open S s after the last ready (default 5)
  --note TEXT           stored with the result
  --no-save             do not append to bench/results/storm.jsonl

One connection per stream (connect-h1, grpc-h2) is limited by the
ephemeral ports of 127.0.0.1 (about 28,000).

environment: SERVER_NODE_OPTIONS, BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`;

/** Parses `argv` (the arguments after "storm"). */
export function parseStormOptions(argv: string[]): StormOptions {
  const v = parseScenarioOptions(
    argv,
    {
      subscribers: { kind: "int", default: 1000, min: 1, max: 50_000 },
      protocol: { kind: "choice", default: "connect-h1", choices: clientProtocols },
      "per-session": { kind: "int", default: 100, min: 1, max: 10_000 },
      "streams-per-user": { kind: "int", default: 100, min: 1, max: 1000 },
      rooms: { kind: "int", default: 1, min: 1, max: 100 },
      "spread-ms": { kind: "int", default: 0, min: 0, max: 600_000 },
      timeout: { kind: "int", default: 60, min: 1, max: 600 },
      hold: { kind: "int", default: 5, min: 0, max: 600 },
      note: { kind: "text", default: "" },
      "no-save": { kind: "flag" },
    },
    stormUsage,
  );
  const problems: string[] = [];
  if (v.protocol !== "grpc-h2-multi" && v.subscribers > 28_000) {
    problems.push(
      `--subscribers ${v.subscribers} with ${v.protocol} needs a connection each: use grpc-h2-multi above 28000`,
    );
  }
  rejectIf(problems, stormUsage);
  return {
    subscribers: v.subscribers,
    protocol: v.protocol as ClientProtocol,
    perSession: v["per-session"],
    streamsPerUser: v["streams-per-user"],
    rooms: v.rooms,
    spreadMs: v["spread-ms"],
    timeoutS: v.timeout,
    holdS: v.hold,
    save: !v["no-save"],
    note: v.note,
  };
}

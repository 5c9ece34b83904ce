/**
 * Command-line options of `npm run bench -- hold`.
 */
import { type ClientProtocol, clientProtocols } from "./client-pool.js";
import { parseScenarioOptions, rejectIf } from "./scenario-options.js";

/** A validated hold run. */
export interface HoldOptions {
  /** Streams to reach. */
  streams: number;
  /** Streams added per step. */
  step: number;
  protocol: ClientProtocol;
  perSession: number;
  streamsPerUser: number;
  rooms: number;
  openConcurrency: number;
  /** A stream without ready this long after its start fails ("timeout"). */
  openTimeoutS: number;
  /** Seconds after each step before memory is read. */
  settleS: number;
  /** Seconds every stream is held idle at the end (server CPU at rest, drops). */
  holdS: number;
  save: boolean;
  note: string;
}

export const holdUsage = `usage: npm run bench -- hold [options]

  --streams N           idle feed streams to reach (default 10000, at most 200000)
  --step S              streams added per step (default: N/10, at least 1000)
  --protocol P          ${clientProtocols.join(" | ")} (default grpc-h2-multi;
                        the others use one connection per stream: at most 25000)
  --per-session N       grpc-h2-multi: streams per HTTP/2 session (default 100)
  --streams-per-user N  streams per account (default 1000, the server's maximum)
  --rooms R             rooms every account is in (default 1)
  --open-concurrency C  opens in flight (default 200)
  --open-timeout S      a stream without ready after S s fails as "timeout" (default 60)
  --settle S            pause after each step before reading memory (default 2)
  --hold S              hold every stream idle at the end, S s (default 20; the
                        server sends a heartbeat per stream every 15 s)
  --note TEXT           stored with the result
  --no-save             do not append to bench/results/hold.jsonl

Stops at the first step where a stream fails to open, an open stream ends,
or the server exits: that is the failure point.

environment: SERVER_NODE_OPTIONS (e.g. --max-old-space-size=8192),
             BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`;

/** Parses `argv` (the arguments after "hold"). */
export function parseHoldOptions(argv: string[]): HoldOptions {
  const v = parseScenarioOptions(
    argv,
    {
      streams: { kind: "int", default: 10_000, min: 1, max: 200_000 },
      step: { kind: "int", default: 0, min: 0, max: 200_000 },
      protocol: { kind: "choice", default: "grpc-h2-multi", choices: clientProtocols },
      "per-session": { kind: "int", default: 100, min: 1, max: 100_000 },
      "streams-per-user": { kind: "int", default: 1000, min: 1, max: 1000 },
      rooms: { kind: "int", default: 1, min: 1, max: 100 },
      "open-concurrency": { kind: "int", default: 200, min: 1, max: 10_000 },
      "open-timeout": { kind: "int", default: 60, min: 1, max: 600 },
      settle: { kind: "int", default: 2, min: 0, max: 60 },
      hold: { kind: "int", default: 20, min: 0, max: 3_600 },
      note: { kind: "text", default: "" },
      "no-save": { kind: "flag" },
    },
    holdUsage,
  );
  const problems: string[] = [];
  if (v.protocol !== "grpc-h2-multi" && v.streams > 25_000) {
    problems.push(
      `--streams ${v.streams} with ${v.protocol} needs a connection per stream (ephemeral ports of 127.0.0.1: about 28,000): use grpc-h2-multi`,
    );
  }
  rejectIf(problems, holdUsage);
  return {
    streams: v.streams,
    step:
      v.step > 0
        ? Math.min(v.step, v.streams)
        : Math.min(v.streams, Math.max(1000, Math.ceil(v.streams / 10))),
    protocol: v.protocol as ClientProtocol,
    perSession: v["per-session"],
    streamsPerUser: v["streams-per-user"],
    rooms: v.rooms,
    openConcurrency: v["open-concurrency"],
    openTimeoutS: v["open-timeout"],
    settleS: v.settle,
    holdS: v.hold,
    save: !v["no-save"],
    note: v.note,
  };
}

/**
 * Command-line options of `npm run bench -- hold`.
 */
import { type FeedScenarioOptions, feedOptionSpecs } from "../clients/feed-setup.js";
import { int, parseOptions, recordOptions, serverEnvironment, usage } from "../lib/options.js";

/** A validated hold run. */
export interface HoldOptions extends FeedScenarioOptions {
  /** Streams to reach. */
  streams: number;
  /** Streams added per step. */
  step: number;
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

const command = {
  name: "bench -- hold",
  options: {
    streams: int(10_000, 1, 200_000, "idle feed streams to reach"),
    step: int(0, 0, 200_000, "streams added per step", { shown: "N/10, at least 1000" }),
    ...feedOptionSpecs({
      protocol: "grpc-h2-multi",
      protocolHelp:
        "how streams reach the server; all but grpc-h2-multi use one connection per stream: at most 25000",
      perSessionMax: 100_000,
      streamsPerUser: 1000,
    }),
    rooms: int(1, 1, 100, "rooms every account is in"),
    "open-concurrency": int(200, 1, 10_000, "opens in flight"),
    "open-timeout": int(60, 1, 600, 'a stream without ready after S s fails as "timeout"', {
      arg: "S",
    }),
    settle: int(2, 0, 60, "pause after each step before reading memory, seconds", { arg: "S" }),
    hold: int(
      20,
      0,
      3_600,
      "hold every stream idle at the end, S s (the server sends a heartbeat per stream every 15 s)",
      { arg: "S" },
    ),
    ...recordOptions("hold"),
  },
  notes: `Stops at the first step where a stream fails to open, an open stream ends,
or the server exits: that is the failure point.

${serverEnvironment}
             (e.g. SERVER_NODE_OPTIONS=--max-old-space-size=8192)`,
};

/** Usage text. */
export const holdUsage = usage(command);

/** Parses `argv` (the arguments after "hold"). */
export function parseHoldOptions(argv: string[]): HoldOptions {
  const v = parseOptions(argv, command, (v) =>
    v.protocol !== "grpc-h2-multi" && v.streams > 25_000
      ? [
          `--streams ${v.streams} with ${v.protocol} needs a connection per stream (ephemeral ports of 127.0.0.1: about 28,000): use grpc-h2-multi`,
        ]
      : [],
  );
  return {
    streams: v.streams,
    step:
      v.step > 0
        ? Math.min(v.step, v.streams)
        : Math.min(v.streams, Math.max(1000, Math.ceil(v.streams / 10))),
    client: v.client as HoldOptions["client"],
    protocol: v.protocol as HoldOptions["protocol"],
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

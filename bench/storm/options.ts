/**
 * Command-line options of `npm run bench -- storm`.
 */
import { type FeedScenarioOptions, feedOptionSpecs } from "../clients/feed-setup.js";
import { int, parseOptions, recordOptions, serverEnvironment, usage } from "../lib/options.js";

/** A validated storm run. */
export interface StormOptions extends FeedScenarioOptions {
  /** Subscribe calls started at once. */
  subscribers: number;
  /** Calls start evenly over this many ms (0: all in one go). */
  spreadMs: number;
  /** A call without `ready` after this many seconds counts as failed ("timeout"). */
  timeoutS: number;
  /** Seconds to keep every stream open after the last `ready` (drops are counted). */
  holdS: number;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- storm",
  options: {
    subscribers: int(1000, 1, 50_000, "Subscribe calls started at once"),
    ...feedOptionSpecs({ protocol: "connect-h1", perSessionMax: 10_000, streamsPerUser: 100 }),
    rooms: int(1, 1, 100, "rooms every account is in"),
    "spread-ms": int(0, 0, 600_000, "start the calls evenly over MS ms instead of at once", {
      arg: "MS",
    }),
    timeout: int(60, 1, 600, 'a call without ready after S s fails as "timeout"', { arg: "S" }),
    hold: int(5, 0, 600, "keep the streams open S s after the last ready", { arg: "S" }),
    ...recordOptions("storm"),
  },
  notes: `One connection per stream (connect-h1, grpc-h2) is limited by the
ephemeral ports of 127.0.0.1 (about 28,000).

${serverEnvironment}`,
};

/** Usage text. */
export const stormUsage = usage(command);

/** Parses `argv` (the arguments after "storm"). */
export function parseStormOptions(argv: string[]): StormOptions {
  const v = parseOptions(argv, command, (v) =>
    v.protocol !== "grpc-h2-multi" && v.subscribers > 28_000
      ? [
          `--subscribers ${v.subscribers} with ${v.protocol} needs a connection each: use grpc-h2-multi above 28000`,
        ]
      : [],
  );
  return {
    subscribers: v.subscribers,
    client: v.client as StormOptions["client"],
    protocol: v.protocol as StormOptions["protocol"],
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

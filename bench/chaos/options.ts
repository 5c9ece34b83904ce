/**
 * Options of `npm run chaos` (bench/chaos/main.ts) and of the short run in
 * the test suite (test/chaos/chaos.test.ts).
 */
import { choice, flag, int, list, parseOptions, text, usage } from "../lib/options.js";
import { type FaultName, faultNames } from "./faults.js";

/** How a chaos run goes. */
export interface ChaosOptions {
  /** Seconds of traffic from the first sender to the quiet period (faults included). */
  durationS: number;
  subscribers: number;
  senders: number;
  /** Messages per second, all senders together. */
  rate: number;
  rooms: number;
  roomsPerSubscriber: number;
  /** FEED_MAX_REPLAY of the servers: rooms further behind get `reset`. */
  maxReplay: number;
  /** FEED_QUEUE_LIMIT of the servers; 0: the server's default. */
  queueLimit: number;
  /** Seconds a killed process stays down. */
  outageS: number;
  /** Seconds of SIGSTOP. */
  pauseS: number;
  /** Heartbeat interval subscribers ask for, ms (0: the server's default). */
  heartbeatMs: number;
  /** Mean seconds between a subscriber's voluntary drops (0: never). */
  dropEveryS: number;
  /** Bound (seconds) on the quiet period: last sends acked, every subscriber at the head. */
  quietS: number;
  /** Faults to inject, in order. */
  faults: FaultName[];
  seed: number;
  /** LOG_LEVEL of the servers. */
  logLevel: string;
  short: boolean;
  save: boolean;
  keepLogs: boolean;
  note: string;
}

/** Defaults of a full run and of `--short`. */
export const fullDefaults = {
  durationS: 240,
  subscribers: 40,
  senders: 10,
  rate: 150,
  rooms: 6,
  roomsPerSubscriber: 4,
  maxReplay: 300,
  queueLimit: 0,
  outageS: 5,
  pauseS: 8,
  heartbeatMs: 2_000,
  dropEveryS: 20,
  quietS: 30,
} as const;

export const shortDefaults = {
  durationS: 40,
  subscribers: 12,
  senders: 4,
  rate: 80,
  rooms: 4,
  roomsPerSubscriber: 3,
  maxReplay: 80,
  queueLimit: 0,
  outageS: 2,
  pauseS: 3,
  heartbeatMs: 1_000,
  dropEveryS: 8,
  quietS: 15,
} as const;

/** The command line; defaults are `--short`'s when `short`. */
function chaosCommand(short: boolean) {
  const d = short ? shortDefaults : fullDefaults;
  /** An integer whose default depends on `--short`; the usage shows both. */
  const n = (key: keyof typeof fullDefaults, min: number, max: number, help: string, arg = "N") =>
    int(d[key], min, max, help, {
      arg,
      shown: `${fullDefaults[key]}; --short ${shortDefaults[key]}`,
    });
  return {
    name: "chaos --",
    intro: `Starts its own MariaDB and Redis (on free ports; never the machine's), two
server instances, subscribers and senders, injects the faults one after the
other with traffic between, then checks the database and every client.`,
    options: {
      duration: n("durationS", 10, 3_600, "seconds of traffic, faults included", "S"),
      subscribers: n(
        "subscribers",
        1,
        1_000,
        "Subscribe clients, half gRPC h2c, half Connect HTTP/1.1",
      ),
      senders: n("senders", 1, 200, "SendMessage clients"),
      rate: n("rate", 1, 2_000, "messages per second, all senders", "R"),
      rooms: n("rooms", 1, 100, "rooms"),
      "rooms-per-subscriber": n("roomsPerSubscriber", 1, 100, "rooms each subscriber is in"),
      "max-replay": n("maxReplay", 1, 100_000, "FEED_MAX_REPLAY of the servers"),
      "queue-limit": n(
        "queueLimit",
        0,
        1_000_000,
        "FEED_QUEUE_LIMIT of the servers, 0 for the server's default",
      ),
      outage: n("outageS", 1, 120, "seconds a killed process stays down", "S"),
      pause: n("pauseS", 1, 120, "seconds of SIGSTOP", "S"),
      heartbeat: n(
        "heartbeatMs",
        0,
        300_000,
        "heartbeat interval subscribers ask for; silent for twice that: reconnect; 0 for the server's default",
        "MS",
      ),
      "drop-every": n(
        "dropEveryS",
        0,
        3_600,
        "mean seconds between a subscriber's voluntary drops, 0 for none",
        "S",
      ),
      quiet: n("quietS", 5, 600, "bound on the final catch-up", "S"),
      faults: list(faultNames, faultNames, "faults to inject, in the order given", {
        shown: "all, in this order",
        none: true,
      }),
      seed: int(-1, -1, 2 ** 31 - 1, "random seed", { shown: "random, printed" }),
      "log-level": choice(
        "warn",
        ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
        "LOG_LEVEL of the servers",
        { arg: "L" },
      ),
      short: flag("the smaller defaults above (about 90 s in all)"),
      "keep-logs": flag("keep the log folder even when the run is clean"),
      "no-save": flag("do not append to bench/results/chaos.jsonl"),
      note: text("", "stored with the result", { arg: "TEXT" }),
    },
  };
}

/** Usage text. */
export const chaosUsage = usage(chaosCommand(false));

/** Parses the command line. */
export function parseChaosOptions(argv: string[]): ChaosOptions {
  const short = argv.includes("--short");
  const v = parseOptions(argv, chaosCommand(short), (v) => [
    ...(v.heartbeat !== 0 && v.heartbeat < 1_000
      ? [`--heartbeat ${v.heartbeat}: 0, or 1000 to 300000 (what the server accepts)`]
      : []),
    ...(v["rooms-per-subscriber"] > v.rooms
      ? [`--rooms-per-subscriber ${v["rooms-per-subscriber"]} exceeds --rooms ${v.rooms}`]
      : []),
  ]);
  return {
    durationS: v.duration,
    subscribers: v.subscribers,
    senders: v.senders,
    rate: v.rate,
    rooms: v.rooms,
    roomsPerSubscriber: v["rooms-per-subscriber"],
    maxReplay: v["max-replay"],
    queueLimit: v["queue-limit"],
    outageS: v.outage,
    pauseS: v.pause,
    heartbeatMs: v.heartbeat,
    dropEveryS: v["drop-every"],
    quietS: v.quiet,
    faults: v.faults as FaultName[],
    seed: v.seed >= 0 ? v.seed : Math.floor(Math.random() * 2 ** 31),
    logLevel: v["log-level"],
    short,
    save: !v["no-save"],
    keepLogs: v["keep-logs"],
    note: v.note,
  };
}

/** Options of a run with every default of `--short` or a full run, overridden by `over`. */
export function chaosOptions(over: Partial<ChaosOptions> = {}, short = true): ChaosOptions {
  const d = short ? shortDefaults : fullDefaults;
  return {
    ...d,
    faults: [...faultNames],
    seed: Math.floor(Math.random() * 2 ** 31),
    logLevel: "warn",
    short,
    save: false,
    keepLogs: false,
    note: "",
    ...over,
  };
}

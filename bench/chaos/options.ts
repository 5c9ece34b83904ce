/**
 * Options of `npm run chaos` (bench/chaos/main.ts) and of the short run in
 * the test suite (test/chaos/chaos.test.ts).
 */
import { type OptionSpec, parseScenarioOptions, rejectIf } from "../scenario-options.js";
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

export const chaosUsage = `usage: npm run chaos -- [options]

Starts its own MariaDB and Redis (on free ports; never the machine's), two
server instances, subscribers and senders, injects the faults one after the
other with traffic between, then checks the database and every client.

  --duration S              seconds of traffic, faults included (default ${fullDefaults.durationS}; --short ${shortDefaults.durationS})
  --subscribers N           Subscribe clients, half gRPC h2c, half Connect HTTP/1.1 (${fullDefaults.subscribers}; ${shortDefaults.subscribers})
  --senders N               SendMessage clients (${fullDefaults.senders}; ${shortDefaults.senders})
  --rate R                  messages per second, all senders (${fullDefaults.rate}; ${shortDefaults.rate})
  --rooms N                 rooms (${fullDefaults.rooms}; ${shortDefaults.rooms})
  --rooms-per-subscriber N  rooms each subscriber is in (${fullDefaults.roomsPerSubscriber}; ${shortDefaults.roomsPerSubscriber})
  --max-replay N            FEED_MAX_REPLAY of the servers (${fullDefaults.maxReplay}; ${shortDefaults.maxReplay})
  --queue-limit N           FEED_QUEUE_LIMIT of the servers, 0 for the server's default (0)
  --outage S                seconds a killed process stays down (${fullDefaults.outageS}; ${shortDefaults.outageS})
  --pause S                 seconds of SIGSTOP (${fullDefaults.pauseS}; ${shortDefaults.pauseS})
  --heartbeat MS            heartbeat interval subscribers ask for; silent for twice that: reconnect; 0 for the server's default (${fullDefaults.heartbeatMs}; ${shortDefaults.heartbeatMs})
  --drop-every S            mean seconds between a subscriber's voluntary drops, 0 for none (${fullDefaults.dropEveryS}; ${shortDefaults.dropEveryS})
  --quiet S                 bound on the final catch-up (${fullDefaults.quietS}; ${shortDefaults.quietS})
  --faults LIST             comma-separated subset of ${faultNames.join(",")} (default all, in this order)
  --seed N                  random seed (default: random, printed)
  --log-level L             LOG_LEVEL of the servers (default warn)
  --short                   the smaller defaults above (about 90 s in all)
  --keep-logs               keep the log folder even when the run is clean
  --no-save                 do not append to bench/results/chaos.jsonl
  --note TEXT               stored with the result`;

/** Parses the command line. */
export function parseChaosOptions(argv: string[]): ChaosOptions {
  const short = argv.includes("--short");
  const d = short ? shortDefaults : fullDefaults;
  const int = (def: number, min: number, max: number) => ({
    kind: "int" as const,
    default: def,
    min,
    max,
  });
  const specs = {
    duration: int(d.durationS, 10, 3_600),
    subscribers: int(d.subscribers, 1, 1_000),
    senders: int(d.senders, 1, 200),
    rate: int(d.rate, 1, 2_000),
    rooms: int(d.rooms, 1, 100),
    "rooms-per-subscriber": int(d.roomsPerSubscriber, 1, 100),
    "max-replay": int(d.maxReplay, 1, 100_000),
    "queue-limit": int(d.queueLimit, 0, 1_000_000),
    outage: int(d.outageS, 1, 120),
    pause: int(d.pauseS, 1, 120),
    heartbeat: int(d.heartbeatMs, 0, 300_000),
    "drop-every": int(d.dropEveryS, 0, 3_600),
    quiet: int(d.quietS, 5, 600),
    faults: { kind: "text", default: faultNames.join(",") },
    seed: { kind: "int", default: -1, min: -1, max: 2 ** 31 - 1 },
    "log-level": {
      kind: "choice",
      default: "warn",
      choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    },
    short: { kind: "flag" },
    "keep-logs": { kind: "flag" },
    "no-save": { kind: "flag" },
    note: { kind: "text", default: "" },
  } satisfies Record<string, OptionSpec>;
  const v = parseScenarioOptions(argv, specs, chaosUsage);
  const faults = v.faults
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
  const problems: string[] = [];
  for (const f of faults) {
    if (!(faultNames as readonly string[]).includes(f)) {
      problems.push(`--faults: unknown fault "${f}" (known: ${faultNames.join(", ")})`);
    }
  }
  if (v.heartbeat !== 0 && v.heartbeat < 1_000) {
    problems.push(`--heartbeat ${v.heartbeat}: 0, or 1000 to 300000 (what the server accepts)`);
  }
  if (v["rooms-per-subscriber"] > v.rooms) {
    problems.push(`--rooms-per-subscriber ${v["rooms-per-subscriber"]} exceeds --rooms ${v.rooms}`);
  }
  rejectIf(problems, chaosUsage);
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
    faults: faults as FaultName[],
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

/**
 * Command-line options of `npm run bench -- resume`.
 */
import { type FeedScenarioOptions, feedOptionSpecs } from "../clients/feed-setup.js";
import { int, parseOptions, recordOptions, serverEnvironment, usage } from "../lib/options.js";

/** A validated resume run (`rooms`: every account is in them; each stream resumes all). */
export interface ResumeOptions extends FeedScenarioOptions {
  subscribers: number;
  /** Events each room advances by while the streams are away. */
  events: number;
  /** Messages per room sent while the streams reconnect (the replay → live switch). */
  live: number;
  /** Pause between two live messages of a room, ms. */
  liveIntervalMs: number;
  /** Opens in flight for the first connection (before the disconnect). */
  openConcurrency: number;
  /** Bound on the reconnect phase, seconds. */
  timeoutS: number;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- resume",
  options: {
    subscribers: int(1000, 1, 30_000, "feed streams"),
    rooms: int(2, 1, 50, "rooms every account is in; each stream resumes all"),
    events: int(50, 1, 10_000, "events per room while the streams are away", { arg: "E" }),
    live: int(5, 0, 1_000, "messages per room sent during the reconnect", { arg: "L" }),
    "live-interval": int(200, 0, 60_000, "pause between two live messages of a room, ms", {
      arg: "MS",
    }),
    ...feedOptionSpecs({ protocol: "connect-h1", perSessionMax: 10_000, streamsPerUser: 100 }),
    "open-concurrency": int(50, 1, 10_000, "opens in flight for the first connection"),
    timeout: int(120, 1, 1_800, "bound on the reconnect until everything arrived, seconds", {
      arg: "S",
    }),
    ...recordOptions("resume"),
  },
  notes: serverEnvironment,
};

/** Usage text. */
export const resumeUsage = usage(command);

/** Parses `argv` (the arguments after "resume"). */
export function parseResumeOptions(argv: string[]): ResumeOptions {
  const v = parseOptions(argv, command, (v) =>
    v.protocol !== "grpc-h2-multi" && v.subscribers > 14_000
      ? [
          `--subscribers ${v.subscribers} with ${v.protocol}: two connections per stream over the run (about 28,000 ephemeral ports): use grpc-h2-multi`,
        ]
      : [],
  );
  return {
    subscribers: v.subscribers,
    rooms: v.rooms,
    events: v.events,
    live: v.live,
    liveIntervalMs: v["live-interval"],
    client: v.client as ResumeOptions["client"],
    protocol: v.protocol as ResumeOptions["protocol"],
    perSession: v["per-session"],
    streamsPerUser: v["streams-per-user"],
    openConcurrency: v["open-concurrency"],
    timeoutS: v.timeout,
    save: !v["no-save"],
    note: v.note,
  };
}

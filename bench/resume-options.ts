/**
 * Command-line options of `npm run bench -- resume`.
 */
import { type ClientProtocol, clientProtocols } from "./client-pool.js";
import { parseScenarioOptions, rejectIf } from "./scenario-options.js";

/** A validated resume run. */
export interface ResumeOptions {
  subscribers: number;
  /** Rooms every account is in; each stream resumes all of them. */
  rooms: number;
  /** Events each room advances by while the streams are away. */
  events: number;
  /** Messages per room sent while the streams reconnect (the replay → live switch). */
  live: number;
  /** Pause between two live messages of a room, ms. */
  liveIntervalMs: number;
  protocol: ClientProtocol;
  perSession: number;
  streamsPerUser: number;
  /** Opens in flight for the first connection (before the disconnect). */
  openConcurrency: number;
  /** Bound on the reconnect phase, seconds. */
  timeoutS: number;
  save: boolean;
  note: string;
}

export const resumeUsage = `usage: npm run bench -- resume [options]

  --subscribers N       feed streams (default 1000, at most 30000)
  --rooms R             rooms every account is in; each stream resumes all (default 2)
  --events E            events per room while the streams are away (default 50)
  --live L              messages per room sent during the reconnect (default 5)
  --live-interval MS    pause between two live messages of a room (default 200)
  --protocol P          ${clientProtocols.join(" | ")} (default connect-h1)
  --per-session N       grpc-h2-multi: streams per HTTP/2 session (default 100)
  --streams-per-user N  streams per account (default 100, at most 1000)
  --open-concurrency C  opens in flight for the first connection (default 50)
  --timeout S           bound on the reconnect until everything arrived (default 120)
  --note TEXT           stored with the result
  --no-save             do not append to bench/results/resume.jsonl

environment: SERVER_NODE_OPTIONS, BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`;

/** Parses `argv` (the arguments after "resume"). */
export function parseResumeOptions(argv: string[]): ResumeOptions {
  const v = parseScenarioOptions(
    argv,
    {
      subscribers: { kind: "int", default: 1000, min: 1, max: 30_000 },
      rooms: { kind: "int", default: 2, min: 1, max: 50 },
      events: { kind: "int", default: 50, min: 1, max: 10_000 },
      live: { kind: "int", default: 5, min: 0, max: 1_000 },
      "live-interval": { kind: "int", default: 200, min: 0, max: 60_000 },
      protocol: { kind: "choice", default: "connect-h1", choices: clientProtocols },
      "per-session": { kind: "int", default: 100, min: 1, max: 10_000 },
      "streams-per-user": { kind: "int", default: 100, min: 1, max: 1000 },
      "open-concurrency": { kind: "int", default: 50, min: 1, max: 10_000 },
      timeout: { kind: "int", default: 120, min: 1, max: 1_800 },
      note: { kind: "text", default: "" },
      "no-save": { kind: "flag" },
    },
    resumeUsage,
  );
  const problems: string[] = [];
  if (v.protocol !== "grpc-h2-multi" && v.subscribers > 14_000) {
    problems.push(
      `--subscribers ${v.subscribers} with ${v.protocol}: two connections per stream over the run (about 28,000 ephemeral ports): use grpc-h2-multi`,
    );
  }
  rejectIf(problems, resumeUsage);
  return {
    subscribers: v.subscribers,
    rooms: v.rooms,
    events: v.events,
    live: v.live,
    liveIntervalMs: v["live-interval"],
    protocol: v.protocol as ClientProtocol,
    perSession: v["per-session"],
    streamsPerUser: v["streams-per-user"],
    openConcurrency: v["open-concurrency"],
    timeoutS: v.timeout,
    save: !v["no-save"],
    note: v.note,
  };
}

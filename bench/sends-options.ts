/**
 * Command-line options of `npm run bench -- sends`, with defaults and
 * bounds: every run is limited in time and in sends.
 */
import { type ClientProtocol, clientProtocols } from "./client-pool.js";
import { parseScenarioOptions, rejectIf } from "./scenario-options.js";

/** Which rooms the sends go to. */
export const sendTargets = ["spread", "hot", "both"] as const;
export type SendTarget = (typeof sendTargets)[number];

/** How messages are sent. */
export const sendVias = ["unary", "chat"] as const;
export type SendVia = (typeof sendVias)[number];

/** A validated sends run. */
export interface SendsOptions {
  rooms: number;
  senders: number;
  /** `spread`: round-robin over the rooms; `hot`: all into one room; `both`: one phase each. */
  target: SendTarget;
  /** SendMessage calls per second, open loop; 0 = saturation. */
  rate: number;
  /** Saturation: calls in flight. */
  concurrency: number;
  /** Seconds of sending per phase. */
  durationS: number;
  /** Fixed rate: at most this many calls in flight; sends due beyond it are skipped (counted). */
  maxInFlight: number;
  /** Deadline of one SendMessage call, seconds. */
  sendTimeoutS: number;
  /** Message text bytes. */
  size: number;
  protocol: ClientProtocol;
  /** `unary`: one SendMessage call per message; `chat`: one Chat stream per sender. */
  via: SendVia;
  save: boolean;
  note: string;
}

export const sendsUsage = `usage: npm run bench -- sends [options]

  --rooms R            rooms of the spread phase (default 100)
  --senders S          sending accounts (default 200), spread over the rooms;
                       every sender is also in the hot room
  --target T           spread | hot | both (default both: one phase each)
  --rate N             SendMessage calls/s, open loop (default 1000);
                       0 = saturation with --concurrency calls in flight
  --concurrency C      saturation: calls in flight (default 32)
  --duration S         seconds of sending per phase (default 10, at most 300)
  --max-in-flight M    fixed rate: calls in flight at most; sends due beyond
                       are skipped and counted (default 1000)
  --send-timeout S     deadline of one call (default 30)
  --size B             message text bytes (default 100)
  --protocol P         ${clientProtocols.join(" | ")} (default grpc-h2:
                       one HTTP/2 connection per sender)
  --via V              unary (default): one SendMessage call per message;
                       chat: one FeedService.Chat stream per sender (HTTP/2)
  --note TEXT          stored with the result
  --no-save            do not append to bench/results/sends.jsonl

environment: SERVER_NODE_OPTIONS, BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`;

/** Parses `argv` (the arguments after "sends"). */
export function parseSendsOptions(argv: string[]): SendsOptions {
  const v = parseScenarioOptions(
    argv,
    {
      rooms: { kind: "int", default: 100, min: 1, max: 10_000 },
      senders: { kind: "int", default: 200, min: 1, max: 10_000 },
      target: { kind: "choice", default: "both", choices: sendTargets },
      rate: { kind: "int", default: 1000, min: 0, max: 100_000 },
      concurrency: { kind: "int", default: 32, min: 1, max: 10_000 },
      duration: { kind: "int", default: 10, min: 1, max: 300 },
      "max-in-flight": { kind: "int", default: 1000, min: 1, max: 100_000 },
      "send-timeout": { kind: "int", default: 30, min: 1, max: 600 },
      size: { kind: "int", default: 100, min: 20, max: 4_000 },
      protocol: { kind: "choice", default: "grpc-h2", choices: clientProtocols },
      via: { kind: "choice", default: "unary", choices: sendVias },
      note: { kind: "text", default: "" },
      "no-save": { kind: "flag" },
    },
    sendsUsage,
  );
  const problems: string[] = [];
  if (v.rate * v.duration > 1_000_000) problems.push("--rate × --duration must be ≤ 1,000,000");
  if (v.via === "chat" && v.protocol === "connect-h1") {
    problems.push(
      "--via chat needs HTTP/2 (bidirectional streaming): use --protocol grpc-h2 or grpc-h2-multi",
    );
  }
  rejectIf(problems, sendsUsage);
  return {
    rooms: v.rooms,
    senders: v.senders,
    target: v.target as SendTarget,
    rate: v.rate,
    concurrency: v.concurrency,
    durationS: v.duration,
    maxInFlight: v["max-in-flight"],
    sendTimeoutS: v["send-timeout"],
    size: v.size,
    protocol: v.protocol as ClientProtocol,
    via: v.via as SendVia,
    save: !v["no-save"],
    note: v.note,
  };
}

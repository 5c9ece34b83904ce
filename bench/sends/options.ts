/**
 * Command-line options of `npm run bench -- sends`, with defaults and
 * bounds: every run is limited in time and in sends.
 */
import { type ClientProtocol, clientProtocols } from "../clients/client-pool.js";
import {
  choice,
  int,
  parseOptions,
  recordOptions,
  serverEnvironment,
  usage,
} from "../lib/options.js";

/** A validated sends run. */
export interface SendsOptions {
  rooms: number;
  senders: number;
  /**
   * `spread`: round-robin over the rooms; `hot`: all into one room; `solo`:
   * one call at a time into that room; `both`: spread then hot; `all`: the three.
   */
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
  via: SendVia;
  client: "lean" | "sdk";
  /** Our server's processes (WORKERS). */
  workers: number;
  save: boolean;
  note: string;
}

/** The phases a run can have, in the order they run. */
export const sendPhases = ["spread", "hot", "solo"] as const;
export type SendPhase = (typeof sendPhases)[number];

/** Which phases run: one of them, `both` (spread and hot) or `all`. */
export const sendTargets = [...sendPhases, "both", "all"] as const;
export type SendTarget = (typeof sendTargets)[number];

/** How messages are sent. */
export const sendVias = ["unary", "chat", "direct"] as const;
/**
 * - `unary`: one MessageService.SendMessage call per message.
 * - `chat`: one FeedService.Chat stream per sender, a command per message.
 * - `direct`: RoomWriter.send in the load generator, on the run's
 *   database: the storage path without RPC, HTTP or the server process.
 */
export type SendVia = (typeof sendVias)[number];

const command = {
  name: "bench -- sends",
  options: {
    rooms: int(100, 1, 10_000, "rooms of the spread phase"),
    senders: int(
      200,
      1,
      10_000,
      "sending accounts, spread over the rooms; every sender is also in the hot room",
    ),
    target: choice(
      "both",
      sendTargets,
      "spread | hot | solo (one call in flight, into the hot room) | both (spread, then hot) | all",
      { arg: "T" },
    ),
    rate: int(
      1000,
      0,
      100_000,
      "SendMessage calls/s, open loop; 0 = saturation with --concurrency calls in flight",
    ),
    concurrency: int(32, 1, 10_000, "saturation: calls in flight"),
    duration: int(10, 1, 300, "seconds of sending per phase"),
    "max-in-flight": int(
      1000,
      1,
      100_000,
      "fixed rate: calls in flight at most; sends due beyond are skipped and counted",
    ),
    "send-timeout": int(30, 1, 600, "deadline of one call, seconds"),
    size: int(100, 20, 4_000, "message text bytes"),
    protocol: choice(
      "grpc-h2",
      clientProtocols,
      "grpc-h2: one HTTP/2 connection per sender; grpc-h2-multi: 100 senders per connection; connect-h1: 6 sockets per sender, like a browser",
      { arg: "P" },
    ),
    via: choice(
      "unary",
      sendVias,
      "unary: one SendMessage call per message; chat: one FeedService.Chat stream per sender (HTTP/2); direct: RoomWriter.send in the load generator, no RPC (the storage path alone)",
      { arg: "V" },
    ),
    workers: int(
      1,
      1,
      64,
      "our server's processes on the port (WORKERS); more than one uses Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379)",
    ),
    client: choice(
      "lean",
      ["lean", "sdk"],
      "--via unary: lean writes each call with node:http/http2 (clients/lean-unary.ts), so the load generator is not the limit; sdk: the generated client over connect-node's transports",
      { arg: "C" },
    ),
    ...recordOptions("sends"),
  },
  notes: serverEnvironment,
};

/** Usage text. */
export const sendsUsage = usage(command);

/** Parses `argv` (the arguments after "sends"). */
export function parseSendsOptions(argv: string[]): SendsOptions {
  const v = parseOptions(argv, command, (v) => [
    ...(v.rate * v.duration > 1_000_000 ? ["--rate × --duration must be ≤ 1,000,000"] : []),
    ...(v.via === "chat" && v.protocol === "connect-h1"
      ? [
          "--via chat needs HTTP/2 (bidirectional streaming): use --protocol grpc-h2 or grpc-h2-multi",
        ]
      : []),
  ]);
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
    client: v.client as "lean" | "sdk",
    workers: v.workers,
    save: !v["no-save"],
    note: v.note,
  };
}

/** The phases `target` runs, in order. */
export function phasesOf(target: SendTarget): SendPhase[] {
  if (target === "both") return ["spread", "hot"];
  if (target === "all") return [...sendPhases];
  return [target];
}

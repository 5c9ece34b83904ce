/**
 * Command-line options of `npm run bench -- fanout`, with defaults and
 * bounds: every run is limited in time, streams and messages.
 */
import { type ClientProtocol, clientProtocols } from "../clients/client-pool.js";
import { type SubscriberClient, subscriberClients } from "../clients/subscriber-pool.js";
import {
  choice,
  int,
  list,
  parseOptions,
  recordOptions,
  serverEnvironment,
  usage,
} from "../lib/options.js";
import { type PeerName, peerNames } from "../peers/peers.js";

/** A validated fan-out run. */
export interface FanoutOptions {
  subscribers: number;
  /** Messages per second over all rooms; 0 = saturation. */
  rate: number;
  /** Seconds of publishing. */
  durationS: number;
  /**
   * How our Subscribe streams reach the server: `connect-h1` one TCP
   * connection each (what browsers on plain http do), `grpc-h2` one HTTP/2
   * session each, `grpc-h2-multi` 100 streams per session.
   */
  protocol: ClientProtocol;
  /** Client code of our Subscribe streams (peers always use their own clients). */
  client: SubscriberClient;
  /** Rooms; subscribers are split evenly, messages go round-robin. */
  rooms: number;
  /** Saturation: SendMessage calls in flight. */
  concurrency: number;
  /**
   * Saturation: a sender waits while a room has this many messages not yet
   * received by every subscriber (keeps server queues and the run bounded);
   * 0 = never wait.
   */
  maxLag: number;
  /** Bytes of message text (ASCII). */
  size: number;
  /** After publishing, how long to wait for outstanding deliveries. */
  drainTimeoutS: number;
  /** Append the result to bench/results/fanout.jsonl. */
  save: boolean;
  /** Free text stored with the result (e.g. "cpu-prof"). */
  note: string;
  /**
   * Peer servers measured after ours in the same run, with the same
   * subscribers, rooms, size and publishing (bench/peers/).
   */
  peers: PeerName[];
  /**
   * Our server's processes on the port (WORKERS, server/platform/process-cluster.ts);
   * more than one shares state through Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379).
   */
  workers: number;
}

const command = {
  name: "bench -- fanout",
  options: {
    subscribers: int(1000, 1, 20_000, "streams"),
    rate: int(50, 0, 10_000, "messages/s over all rooms; 0 = saturation", { arg: "R" }),
    duration: int(10, 1, 600, "seconds of publishing", { arg: "S" }),
    protocol: choice("connect-h1", clientProtocols, "how our streams reach the server", {
      arg: "P",
    }),
    client: choice(
      "lean",
      subscriberClients,
      "our subscribers' client: lean (node:http/http2 + generated message types) | sdk (createClient + connect-node)",
      { arg: "C" },
    ),
    rooms: int(1, 1, 100, "rooms, subscribers split evenly", { arg: "K" }),
    concurrency: int(8, 1, 256, "saturation: sends in flight", { arg: "C" }),
    "max-lag": int(
      200,
      0,
      100_000,
      "saturation: wait while a room has M messages not yet received by all its subscribers (0 = never)",
      { arg: "M" },
    ),
    size: int(100, 40, 4_000, "message text bytes", { arg: "B" }),
    "drain-timeout": int(60, 1, 600, "wait for late deliveries after publishing, seconds", {
      arg: "S",
    }),
    peers: list(peerNames, peerNames, "peer servers measured in the same run, after ours", {
      none: true,
    }),
    workers: int(
      1,
      1,
      64,
      "our server's processes on the port (WORKERS); more than one uses Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379)",
      { arg: "N" },
    ),
    ...recordOptions("fanout"),
  },
  notes: `${serverEnvironment}
             (e.g. SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=bench/results/profiles")`,
};

/** Usage text. */
export const fanoutUsage = usage(command);

/** Parses and checks `argv` (the arguments after "fanout"). */
export function parseFanoutOptions(argv: string[]): FanoutOptions {
  const v = parseOptions(argv, command, (v) =>
    v.rooms > v.subscribers ? ["--rooms must not exceed --subscribers"] : [],
  );
  return {
    subscribers: v.subscribers,
    rate: v.rate,
    durationS: v.duration,
    protocol: v.protocol as ClientProtocol,
    client: v.client as SubscriberClient,
    rooms: v.rooms,
    concurrency: v.concurrency,
    maxLag: v["max-lag"],
    size: v.size,
    drainTimeoutS: v["drain-timeout"],
    save: !v["no-save"],
    note: v.note,
    workers: v.workers,
    // Unique, in the fixed order.
    peers: peerNames.filter((n) => v.peers.includes(n)),
  };
}

/**
 * Command-line options of `npm run bench -- fanout`, with defaults and
 * bounds: every run is limited in time, streams and messages.
 */
import { parseArgs } from "node:util";
import { type PeerName, parsePeerList, peerNames } from "./peers/peers.js";

/** How subscriber streams reach the server. */
export const protocols = ["connect-h1", "grpc-h2", "grpc-h2-multi"] as const;
/**
 * - `connect-h1`: Connect protocol over HTTP/1.1, one TCP connection per
 *   subscriber (what browsers on plain http do).
 * - `grpc-h2`: gRPC over h2c, one HTTP/2 session per subscriber.
 * - `grpc-h2-multi`: gRPC over h2c, {@link streamsPerSession} streams per session.
 */
export type Protocol = (typeof protocols)[number];

/** Which client code carries the Subscribe streams (bench/README.md ("Subscriber client")). */
export const subscriberClients = ["lean", "sdk"] as const;
/**
 * - `lean`: node:http / node:http2 and the generated message types, one
 *   envelope parser per stream (bench/lean-subscriber.ts): about as light
 *   as the peers' WebSocket clients, so the server is what saturates.
 * - `sdk`: the generated SDK, `createClient` over connect-node transports
 *   (bench/transports.ts): what an application would use.
 */
export type SubscriberClient = (typeof subscriberClients)[number];

/** Streams sharing one HTTP/2 session in `grpc-h2-multi`. */
export const streamsPerSession = 100;

/** A validated fan-out run. */
export interface FanoutOptions {
  subscribers: number;
  /** Messages per second over all rooms; 0 = saturation. */
  rate: number;
  /** Seconds of publishing. */
  durationS: number;
  protocol: Protocol;
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
}

/** Usage text. */
export const fanoutUsage = `usage: npm run bench -- fanout [options]

  --subscribers N     streams (default 1000, at most 20000)
  --rate R            messages/s over all rooms (default 50); 0 = saturation
  --duration S        seconds of publishing (default 10, at most 600)
  --protocol P        ${protocols.join(" | ")} (default connect-h1)
  --client C          our subscribers' client: lean (node:http/http2 + generated
                      message types, default) | sdk (createClient + connect-node)
  --rooms K           rooms, subscribers split evenly (default 1)
  --concurrency C     saturation: sends in flight (default 8)
  --max-lag M         saturation: wait while a room has M messages not yet
                      received by all its subscribers (default 200; 0 = never)
  --size B            message text bytes (default 100)
  --drain-timeout S   wait for late deliveries after publishing (default 60)
  --peers LIST        peer servers measured in the same run, after ours:
                      ${peerNames.join(",")} (default) or none
  --note TEXT         stored with the result
  --no-save           do not append to bench/results/fanout.jsonl

environment: SERVER_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=bench/results/profiles"),
             BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306)`;

/** Parses and checks `argv` (the arguments after "fanout"). */
export function parseFanoutOptions(argv: string[]): FanoutOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      subscribers: { type: "string", default: "1000" },
      rate: { type: "string", default: "50" },
      duration: { type: "string", default: "10" },
      protocol: { type: "string", default: "connect-h1" },
      client: { type: "string", default: "lean" },
      rooms: { type: "string", default: "1" },
      concurrency: { type: "string", default: "8" },
      "max-lag": { type: "string", default: "200" },
      size: { type: "string", default: "100" },
      "drain-timeout": { type: "string", default: "60" },
      note: { type: "string", default: "" },
      peers: { type: "string", default: peerNames.join(",") },
      "no-save": { type: "boolean", default: false },
    },
  });
  const problems: string[] = [];
  const int = (name: keyof typeof values, min: number, max: number) => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`--${name} ${raw}: must be an integer from ${min} to ${max}`);
    }
    return n;
  };
  const protocol = values.protocol as Protocol;
  if (!protocols.includes(protocol)) {
    problems.push(`--protocol ${protocol}: must be one of ${protocols.join(", ")}`);
  }
  const client = values.client as SubscriberClient;
  if (!subscriberClients.includes(client)) {
    problems.push(`--client ${client}: must be one of ${subscriberClients.join(", ")}`);
  }
  const peers = parsePeerList(values.peers);
  if (typeof peers === "string") problems.push(peers);
  const options: FanoutOptions = {
    subscribers: int("subscribers", 1, 20_000),
    rate: int("rate", 0, 10_000),
    durationS: int("duration", 1, 600),
    protocol,
    client,
    rooms: int("rooms", 1, 100),
    concurrency: int("concurrency", 1, 256),
    maxLag: int("max-lag", 0, 100_000),
    size: int("size", 40, 4_000),
    drainTimeoutS: int("drain-timeout", 1, 600),
    save: !values["no-save"],
    note: values.note,
    peers: typeof peers === "string" ? [] : peers,
  };
  if (options.rooms > options.subscribers) problems.push("--rooms must not exceed --subscribers");
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n\n${fanoutUsage}`);
  return options;
}

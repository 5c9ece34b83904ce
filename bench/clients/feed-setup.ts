/**
 * Set-up shared by the storm, resume and hold load generators: accounts
 * for N streams (at most `perUser` streams each, the server's
 * FEED_MAX_STREAMS_PER_USER), rooms owned by one more account with every
 * stream account a member of every room, and opening streams with a
 * bounded number of opens in flight; and the options those scenarios
 * share.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { logToParent } from "../lib/loadgen-process.js";
import { choice, int } from "../lib/options.js";
import {
  type Account,
  accountsNeeded,
  addMembers,
  createAccount,
  createAccounts,
  createRoom,
  roomHead,
} from "./accounts.js";
import {
  type ClientPool,
  type ClientProtocol,
  clientProtocols,
  createClientPool,
} from "./client-pool.js";
import { type FeedCalls, feedCalls } from "./feed-calls.js";
import { FeedStream, type StreamObserver } from "./feed-stream.js";
import { type SubscriberClient, subscriberClients } from "./subscriber-pool.js";

/** The options the storm, resume and hold scenarios share. */
export interface FeedScenarioOptions {
  /** Client code of the streams (feed-calls.ts). */
  client: SubscriberClient;
  protocol: ClientProtocol;
  /** Streams per HTTP/2 session with grpc-h2-multi. */
  perSession: number;
  /** The server's FEED_MAX_STREAMS_PER_USER. */
  streamsPerUser: number;
  rooms: number;
}

/** A load generator's answer to "setup" (users: the stream accounts and the room owner). */
export interface SetupDone {
  type: "setupDone";
  users: number;
  rooms: number;
}

/** Accounts and rooms for a feed scenario, and how its streams are made. */
export class FeedSetup {
  private constructor(
    readonly baseUrl: string,
    /** Setup and publishing: one gRPC session. */
    readonly control: ClientPool,
    readonly owner: Account,
    readonly accounts: Account[],
    readonly rooms: bigint[],
    readonly runId: string,
    private readonly o: FeedScenarioOptions,
  ) {}

  /** Creates the accounts and rooms for `streams` streams through the API. */
  static async create(
    baseUrl: string,
    scenario: string,
    streams: number,
    o: FeedScenarioOptions,
  ): Promise<FeedSetup> {
    const control = createClientPool("grpc-h2", baseUrl);
    const t = control.transportFor(0);
    const runId = randomBytes(3).toString("hex");
    const prefix = `${scenario.slice(0, 2)}${runId}`;
    const owner = await createAccount(createClient(AuthService, t), `${prefix}_owner`);
    const n = accountsNeeded(streams, o.streamsPerUser);
    logToParent(`creating ${n} accounts for ${streams} streams and ${o.rooms} rooms`);
    const accounts = await createAccounts(t, prefix, n);
    const roomIds: bigint[] = [];
    for (let r = 0; r < o.rooms; r++) {
      const id = await createRoom(t, owner, `${scenario} ${runId} ${r}`);
      await addMembers(
        t,
        owner,
        id,
        accounts.map((a) => a.userId),
      );
      roomIds.push(id);
    }
    return new FeedSetup(baseUrl, control, owner, accounts, roomIds, runId, o);
  }

  /** The answer to "setup". */
  done(): SetupDone {
    return { type: "setupDone", users: this.accounts.length + 1, rooms: this.rooms.length };
  }

  /** The account of stream `i`. */
  accountOf(i: number): Account {
    const a = this.accounts[Math.floor(i / this.o.streamsPerUser)];
    if (!a) throw new Error(`no account for stream ${i}`);
    return a;
  }

  /** Current heads of the rooms. */
  async heads(): Promise<Map<bigint, bigint>> {
    const t = this.control.transportFor(0);
    const out = new Map<bigint, bigint>();
    for (const r of this.rooms) out.set(r, await roomHead(t, this.owner, r));
    return out;
  }

  /** A new group of streams on connections of its own, with the scenario's client and protocol. */
  newGroup(): StreamGroup {
    return new StreamGroup(
      this,
      feedCalls(this.o.client, this.o.protocol, this.baseUrl, this.o.perSession),
    );
  }
}

/**
 * A group of streams sharing connections (one {@link FeedCalls}). Each stream has its own
 * AbortController: Node's EventTarget appends a listener by walking the
 * existing ones, so tens of thousands of calls listening to one shared
 * signal cost quadratic time in the load generator.
 */
export class StreamGroup {
  readonly streams: FeedStream[] = [];
  readonly runs: Promise<void>[] = [];
  private readonly aborts: AbortController[] = [];

  constructor(
    readonly setup: FeedSetup,
    readonly calls: FeedCalls,
  ) {}

  /** Creates stream number `this.streams.length` (not started). */
  add(
    positions: { roomId: bigint; lastSeq: bigint }[] = [],
    targets = new Map<bigint, bigint>(),
    observer: StreamObserver = {},
  ): FeedStream {
    const i = this.streams.length;
    const s = new FeedStream(
      i,
      this.calls,
      this.setup.accountOf(i).token,
      positions,
      targets,
      observer,
    );
    this.streams.push(s);
    return s;
  }

  /** Starts a stream. */
  start(s: FeedStream): void {
    const abort = new AbortController();
    this.aborts.push(abort);
    this.runs.push(s.run(abort.signal));
  }

  /**
   * Starts `streams` with at most `concurrency` opens in flight (each until
   * `ready` or failure). A stream not ready `timeoutMs` after its start
   * fails as "timeout" (and stays open until the group is closed).
   */
  async open(streams: FeedStream[], concurrency: number, timeoutMs: number): Promise<void> {
    let next = 0;
    const opener = async () => {
      for (let i = next++; i < streams.length; i = next++) {
        const s = streams[i];
        if (!s) continue;
        this.start(s);
        await settledWithin(s, timeoutMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, streams.length) }, opener));
  }

  /** Aborts every stream and closes the connections; waits (bounded) for the runs to end. */
  async close(waitMs = 5_000): Promise<void> {
    for (const a of this.aborts) a.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.runs),
      new Promise((r) => {
        timer = setTimeout(r, waitMs);
      }),
    ]);
    clearTimeout(timer);
    this.calls.close();
  }
}

/** Waits for `ready` or failure; marks the stream failed ("timeout") after `timeoutMs`. */
export async function settledWithin(s: FeedStream, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    s.settled,
    new Promise<void>((r) => {
      timer = setTimeout(() => {
        if (!s.ready) s.fail("timeout", `no ready within ${timeoutMs} ms`);
        r();
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The option specs behind {@link FeedScenarioOptions} (without `--rooms`,
 * whose meaning differs), with a scenario's defaults.
 */
export function feedOptionSpecs(d: {
  protocol: ClientProtocol;
  protocolHelp?: string;
  perSessionMax: number;
  streamsPerUser: number;
  streamsPerUserHelp?: string;
}) {
  return {
    client: choice(
      "lean",
      subscriberClients,
      "the streams' client: lean (node:http/http2 + generated message types, clients/lean-subscriber.ts) | sdk (createClient + connect-node)",
      { arg: "C" },
    ),
    protocol: choice(
      d.protocol,
      clientProtocols,
      d.protocolHelp ?? "how streams reach the server",
      {
        arg: "P",
      },
    ),
    "per-session": int(100, 1, d.perSessionMax, "grpc-h2-multi: streams per HTTP/2 session"),
    "streams-per-user": int(
      d.streamsPerUser,
      1,
      1000,
      d.streamsPerUserHelp ?? "streams per account (at most 1000, the server's maximum)",
    ),
  };
}

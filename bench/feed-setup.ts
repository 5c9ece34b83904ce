/**
 * Set-up shared by the storm, resume and hold load generators: accounts
 * for N streams (at most `perUser` streams each, the server's
 * FEED_MAX_STREAMS_PER_USER), rooms owned by one more account with every
 * stream account a member of every room, and opening streams with a
 * bounded number of opens in flight.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../gen/chat/v1/auth_pb.js";
import { FeedService } from "../gen/chat/v1/feed_pb.js";
import {
  type Account,
  accountsNeeded,
  addMembers,
  createAccount,
  createAccounts,
  createRoom,
  roomHead,
} from "./bench-accounts.js";
import { type ClientPool, createClientPool } from "./client-pool.js";
import { FeedStream, type StreamObserver } from "./feed-stream.js";
import { logToParent } from "./loadgen-process.js";

/** Accounts and rooms for a feed scenario. */
export interface FeedSetup {
  baseUrl: string;
  /** Setup and publishing: one gRPC session. */
  control: ClientPool;
  owner: Account;
  accounts: Account[];
  rooms: bigint[];
  perUser: number;
  runId: string;
}

/** The options the storm, resume and hold scenarios share. */
export interface FeedScenarioOptions {
  protocol: ClientPool["protocol"];
  /** Streams per HTTP/2 session with grpc-h2-multi. */
  perSession: number;
  /** The server's FEED_MAX_STREAMS_PER_USER. */
  streamsPerUser: number;
  rooms: number;
}

/** Creates the accounts and rooms for `streams` streams. */
export async function setUpFeeds(
  baseUrl: string,
  scenario: string,
  streams: number,
  o: Pick<FeedScenarioOptions, "streamsPerUser" | "rooms">,
): Promise<FeedSetup> {
  const perUser = o.streamsPerUser;
  const rooms = o.rooms;
  const control = createClientPool("grpc-h2", baseUrl);
  const t = control.transportFor(0);
  const runId = randomBytes(3).toString("hex");
  const prefix = `${scenario.slice(0, 2)}${runId}`;
  const owner = await createAccount(createClient(AuthService, t), `${prefix}_owner`);
  const n = accountsNeeded(streams, perUser);
  logToParent(`creating ${n} accounts for ${streams} streams and ${rooms} rooms`);
  const accounts = await createAccounts(t, prefix, n);
  const roomIds: bigint[] = [];
  for (let r = 0; r < rooms; r++) {
    const id = await createRoom(t, owner, `${scenario} ${runId} ${r}`);
    await addMembers(
      t,
      owner,
      id,
      accounts.map((a) => a.userId),
    );
    roomIds.push(id);
  }
  return { baseUrl, control, owner, accounts, rooms: roomIds, perUser, runId };
}

/** A load generator's answer to "setup" (users: the stream accounts and the room owner). */
export interface SetupDone {
  type: "setupDone";
  users: number;
  rooms: number;
}

/** The {@link SetupDone} for `s`. */
export function setupDone(s: FeedSetup): SetupDone {
  return { type: "setupDone", users: s.accounts.length + 1, rooms: s.rooms.length };
}

/** The account of stream `i`. */
export function accountOf(setup: FeedSetup, i: number): Account {
  const a = setup.accounts[Math.floor(i / setup.perUser)];
  if (!a) throw new Error(`no account for stream ${i}`);
  return a;
}

/** Current heads of the setup's rooms. */
export async function roomHeads(setup: FeedSetup): Promise<Map<bigint, bigint>> {
  const t = setup.control.transportFor(0);
  const out = new Map<bigint, bigint>();
  for (const r of setup.rooms) out.set(r, await roomHead(t, setup.owner, r));
  return out;
}

/**
 * A group of streams sharing one pool. Each stream has its own
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
    readonly pool: ClientPool,
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
      createClient(FeedService, this.pool.transportFor(i)),
      accountOf(this.setup, i).token,
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
    this.pool.close();
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

/** A new group of streams on a pool of its own, with the scenario's protocol. */
export function newStreamGroup(s: FeedSetup, o: FeedScenarioOptions): StreamGroup {
  return new StreamGroup(s, streamPool(o.protocol, s.baseUrl, o.perSession));
}

/** A new pool for a scenario's protocol. */
export function streamPool(
  protocol: ClientPool["protocol"],
  baseUrl: string,
  perSession: number,
): ClientPool {
  return createClientPool(protocol, baseUrl, { perSession, h1MaxSockets: 1 });
}

/** Milliseconds to wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Helpers for the live-feed tests: a feed reader with timeouts that never
 * loses a frame, users with their clients, rooms, a pushable request stream
 * for Chat, and a seeded PRNG.
 */
import { spawn } from "node:child_process";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, ConnectError, type Transport } from "@connectrpc/connect";
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import {
  type ChatRequest,
  ChatRequestSchema,
  type ChatResponse,
  type FeedEvent,
  FeedService,
  type SubscribeRequestSchema,
  type SubscribeResponse,
} from "../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import type { ChatServerDeps } from "../../server/app.js";
import { authed, inMemoryInstance, signUp, type TestEnv } from "../support/server.js";

/** One feed event as the oneof (case + value). */
export type Ev = FeedEvent["event"];

/** Thrown by readers when nothing arrived in time. */
export class ReadTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
  }
}

/** The outcome of one pull: an item, the normal end, or the stream's error. */
type Pull<T> =
  | { kind: "item"; value: T }
  | { kind: "end" }
  | { kind: "error"; error: ConnectError };

/**
 * Reads a stream one item at a time with timeouts. A pull that times out
 * stays pending and is picked up by the next read, so nothing is lost.
 */
export class StreamReader<T> {
  private readonly it: AsyncIterator<T>;
  private pending: Promise<Pull<T>> | undefined;
  /** Everything read so far, in order. */
  readonly seen: T[] = [];
  /** Set once the stream ended (normally or with an error). */
  outcome: { kind: "end" } | { kind: "error"; error: ConnectError } | undefined;

  constructor(
    iterable: AsyncIterable<T>,
    readonly abortController: AbortController,
  ) {
    this.it = iterable[Symbol.asyncIterator]();
  }

  private pull(): Promise<Pull<T>> {
    if (!this.pending) {
      this.pending = this.it.next().then(
        (r): Pull<T> => (r.done ? { kind: "end" } : { kind: "item", value: r.value }),
        (err: unknown): Pull<T> => ({ kind: "error", error: ConnectError.from(err) }),
      );
    }
    return this.pending;
  }

  /** The next pull outcome, or undefined after `ms` without one. */
  async poll(ms: number): Promise<Pull<T> | undefined> {
    if (this.outcome) return this.outcome;
    const p = this.pull();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      p,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
    clearTimeout(timer);
    if (!r) return undefined;
    this.pending = undefined;
    if (r.kind === "item") this.seen.push(r.value);
    else this.outcome = r;
    return r;
  }

  /** The next item; throws the stream's error, or on end or timeout. */
  async next(ms = 5_000, what = "the next item"): Promise<T> {
    const r = await this.poll(ms);
    if (!r) throw new ReadTimeout(what, ms);
    if (r.kind === "error") throw r.error;
    if (r.kind === "end") throw new Error(`stream ended while waiting for ${what}`);
    return r.value;
  }

  /** Items until the stream fails; returns them and the error. */
  async untilError(ms = 5_000): Promise<{ items: T[]; error: ConnectError }> {
    const items: T[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await this.poll(Math.max(1, deadline - Date.now()));
      if (!r) throw new ReadTimeout("the stream to fail", ms);
      if (r.kind === "error") return { items, error: r.error };
      if (r.kind === "end") throw new Error("stream ended without an error");
      items.push(r.value);
    }
  }

  /** Items that arrive within `ms` (stops early at the end of the stream). */
  async drain(ms: number): Promise<T[]> {
    const items: T[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return items;
      const r = await this.poll(left);
      if (r?.kind !== "item") return items;
      items.push(r.value);
    }
  }

  close(): void {
    this.abortController.abort();
  }
}

/** Reader of a Subscribe stream, with feed-specific helpers. */
export class FeedReader {
  readonly reader: StreamReader<SubscribeResponse>;

  constructor(iterable: AsyncIterable<SubscribeResponse>, ac: AbortController) {
    this.reader = new StreamReader(iterable, ac);
  }

  /** Opens a Subscribe stream. */
  static open(
    client: Client<typeof FeedService>,
    req: MessageInitShape<typeof SubscribeRequestSchema> = {},
    ac = new AbortController(),
  ): FeedReader {
    return new FeedReader(client.subscribe({ positions: [], ...req }, { signal: ac.signal }), ac);
  }

  /** The next frame's event, heartbeats included. */
  async nextAny(ms = 5_000): Promise<Ev> {
    return evOf(await this.reader.next(ms, "a feed frame"));
  }

  /** The next event that is not background noise (see {@link isNoise}). */
  async next(ms = 5_000): Promise<Ev> {
    const deadline = Date.now() + ms;
    for (;;) {
      const ev = evOf(await this.reader.next(Math.max(1, deadline - Date.now()), "a feed event"));
      if (!isNoise(ev)) return ev;
    }
  }

  /** The `ready` frame, which must come first. */
  async ready(ms = 5_000) {
    const ev = await this.nextAny(ms);
    if (ev.case !== "ready") throw new Error(`expected ready first, got ${describe(ev)}`);
    return ev.value;
  }

  /** The next `n` events (noise skipped). */
  async take(n: number, ms = 5_000): Promise<Ev[]> {
    const deadline = Date.now() + ms;
    const out: Ev[] = [];
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Events (noise skipped) up to and including the first matching one. */
  async until(pred: (ev: Ev) => boolean, ms = 5_000): Promise<Ev[]> {
    const deadline = Date.now() + ms;
    const out: Ev[] = [];
    for (;;) {
      const ev = await this.next(Math.max(1, deadline - Date.now()));
      out.push(ev);
      if (pred(ev)) return out;
    }
  }

  /** Every event arriving within `ms`, noise skipped. */
  async quiet(ms: number): Promise<Ev[]> {
    return (await this.reader.drain(ms)).map(evOf).filter((e) => !isNoise(e));
  }

  /** Reads until the stream fails; returns the events before and the error. */
  async error(ms = 5_000): Promise<{ events: Ev[]; error: ConnectError }> {
    const { items, error } = await this.reader.untilError(ms);
    return { events: items.map(evOf), error };
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * Frames that come and go with timing rather than with what a test does:
 * heartbeats, presence and room stats. Event assertions skip them.
 */
export function isNoise(ev: Ev): boolean {
  return ev.case === "heartbeat" || ev.case === "presence" || ev.case === "roomStats";
}

/** The oneof of a frame. */
export function evOf(r: SubscribeResponse): Ev {
  return r.event?.event ?? { case: undefined };
}

/** A short, comparable description of a feed event. */
export function describe(ev: Ev): string {
  switch (ev.case) {
    case "roomEvent":
      return roomEventLabel(ev.value);
    case "ready":
      return `ready ${ev.value.rooms.map((r) => `${r.roomId}@${r.lastSeq}`).join(",")}`;
    case "reset":
      return `reset ${ev.value.roomId} reason=${ev.value.reason} last=${ev.value.lastSeq}`;
    case "roomAdded":
      return `room_added ${ev.value.room?.id}`;
    case "roomRemoved":
      return `room_removed ${ev.value.roomId}`;
    case "typing":
      return `typing ${ev.value.roomId} ${ev.value.userId} ${ev.value.typing}`;
    case "readMarker":
      return `read_marker ${ev.value.roomId} ${ev.value.lastReadSeq}`;
    default:
      return String(ev.case);
  }
}

/** `room:seq:change[:detail]` of a room event. */
export function roomEventLabel(e: RoomEvent): string {
  const c = e.change;
  let detail = "";
  if (c.case === "messageCreated") detail = `:${c.value.message?.text ?? ""}`;
  else if (c.case === "membersAdded")
    detail = `:${c.value.members.map((m) => m.user?.id).join("+")}`;
  else if (c.case === "memberRemoved") detail = `:${c.value.userId}/${c.value.reason}`;
  return `${e.roomId}:${e.seq}:${c.case}${detail}`;
}

/** Labels of the room events among `evs`, in order. */
export function roomEvents(evs: Ev[]): RoomEvent[] {
  return evs.flatMap((e) => (e.case === "roomEvent" ? [e.value] : []));
}

/** A signed-in user with clients on one transport. */
export interface TestUser {
  id: bigint;
  token: string;
  username: string;
  password: string;
  rooms: Client<typeof RoomService>;
  msgs: Client<typeof MessageService>;
  feed: Client<typeof FeedService>;
  /** Clients of the same user on another transport (instance). */
  on(transport: Transport): {
    rooms: Client<typeof RoomService>;
    msgs: Client<typeof MessageService>;
    feed: Client<typeof FeedService>;
  };
}

/** Signs up a new user on `transport`. */
export async function newUser(transport: Transport, prefix = "feed"): Promise<TestUser> {
  const u = await signUp(transport, `${prefix}_${Math.random().toString(36).slice(2, 10)}`);
  const on = (t: Transport) => ({
    rooms: authed(RoomService, t, u.token),
    msgs: authed(MessageService, t, u.token),
    feed: authed(FeedService, t, u.token),
  });
  return {
    id: u.user.id,
    token: u.token,
    username: u.username,
    password: u.password,
    ...on(transport),
    on,
  };
}

/** Creates a room owned by `owner` with `members`; returns its id. */
export async function newRoom(
  owner: TestUser,
  members: TestUser[] = [],
  visibility = Visibility.PUBLIC,
): Promise<bigint> {
  const res = await owner.rooms.createRoom({
    name: `room ${Math.random().toString(36).slice(2, 8)}`,
    visibility,
    memberIds: members.map((m) => m.id),
  });
  if (!res.room) throw new Error("createRoom returned no room");
  return res.room.id;
}

let msgCounter = 0;

/** Sends a text message; returns its seq. */
export async function send(user: TestUser, roomId: bigint, text: string): Promise<bigint> {
  msgCounter += 1;
  const res = await user.msgs.sendMessage({
    roomId,
    text,
    clientMsgId: `m${msgCounter}_${Date.now()}`,
  });
  return res.message?.seq ?? 0n;
}

/** The stored events of a room as labels, seq 1..last_seq. */
export async function storedEvents(env: TestEnv, roomId: bigint) {
  return env.prisma.roomEvent.findMany({
    where: { roomId },
    orderBy: { seq: "asc" },
    select: { seq: true, payload: true },
  });
}

/** The room's last_seq from the database. */
export async function lastSeqOf(env: TestEnv, roomId: bigint): Promise<bigint> {
  const room = await env.prisma.room.findUniqueOrThrow({
    where: { id: roomId },
    select: { lastSeq: true },
  });
  return room.lastSeq;
}

/** An async iterable fed by `push`; for client request streams. */
export class Pushable<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  push(item: T): void {
    this.items.push(item);
    this.waiter?.();
  }

  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = undefined;
    }
  }
}

/** A Chat stream with its request side. */
export class ChatStream {
  readonly requests = new Pushable<ChatRequest>();
  readonly reader: StreamReader<ChatResponse>;
  private n = 0;

  constructor(
    client: Client<typeof FeedService>,
    readonly ac = new AbortController(),
  ) {
    this.reader = new StreamReader(client.chat(this.requests, { signal: ac.signal }), ac);
  }

  /** Sends a command; returns its request id. */
  command(
    command: MessageInitShape<typeof ChatRequestSchema>["command"],
    requestId = `r${++this.n}`,
  ): string {
    this.requests.push(create(ChatRequestSchema, { requestId, command }));
    return requestId;
  }

  /** Responses up to and including the first matching one (noise skipped). */
  async until(pred: (r: ChatResponse) => boolean, ms = 5_000): Promise<ChatResponse[]> {
    const deadline = Date.now() + ms;
    const out: ChatResponse[] = [];
    for (;;) {
      const r = await this.reader.next(Math.max(1, deadline - Date.now()), "a chat response");
      if (r.response.case === "event" && isNoise(r.response.value.event)) continue;
      out.push(r);
      if (pred(r)) return out;
    }
  }

  close(): void {
    this.requests.end();
    this.ac.abort();
  }
}

/** A short description of a Chat response. */
export function describeChat(r: ChatResponse): string {
  const x = r.response;
  switch (x.case) {
    case "event":
      return describe(x.value.event);
    case "ack":
      return `ack ${x.value.requestId}${x.value.result.case ? ` ${x.value.result.case}` : ""}`;
    case "error":
      return `error ${x.value.requestId} ${x.value.code}`;
    default:
      return "empty";
  }
}

/** Mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns true, or throws after `ms`. */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  ms = 5_000,
  what = "a condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Holds one call at a point of the server's code: `arm()` makes the next
 * `pass()` wait until `release()`; `reached` resolves when a call waits.
 */
export class Gate {
  private waiting: { reached: () => void; released: Promise<void> } | undefined;

  arm(): { reached: Promise<void>; release: () => void } {
    let release: () => void = () => {};
    let reached: () => void = () => {};
    const reachedP = new Promise<void>((r) => {
      reached = r;
    });
    const released = new Promise<void>((r) => {
      release = r;
    });
    this.waiting = { reached, released };
    return { reached: reachedP, release };
  }

  async pass(): Promise<void> {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    w.reached();
    await w.released;
  }
}

/**
 * The env's Prisma client with gates in four reads of the feed: after the
 * membership snapshot of Subscribe (memberships with their room's last_seq),
 * after the room load of a join notification (a room with its name) and
 * after a read of stored events (replay) the read has happened when the
 * gate holds it; the room hub's head read (the room's last_seq alone) is
 * held before it runs.
 */
export function gatedPrisma(
  prisma: PrismaClient,
  gates: { snapshot?: Gate; roomLoad?: Gate; hubHead?: Gate; replayRead?: Gate },
): PrismaClient {
  const extended = prisma.$extends({
    query: {
      async $queryRaw({ args, query }) {
        const result = await query(args);
        // Subscribe's membership snapshot (memberships joined with last_seq).
        if (sqlText(args).includes("FROM memberships m JOIN rooms r")) await gates.snapshot?.pass();
        return result;
      },
      roomEvent: {
        async findMany({ args, query }) {
          const result = await query(args);
          await gates.replayRead?.pass();
          return result;
        },
      },
      room: {
        async findUnique({ args, query }) {
          const select = args.select as Record<string, unknown> | undefined;
          const headOnly = select?.lastSeq && Object.keys(select).length === 1;
          if (headOnly) await gates.hubHead?.pass();
          const result = await query(args);
          if (select?.name) await gates.roomLoad?.pass();
          return result;
        },
      },
    },
  });
  return extended as unknown as PrismaClient;
}

/** The SQL text of a `$queryRaw` call's arguments (a Prisma.Sql or template strings). */
function sqlText(args: unknown): string {
  const a = args as { strings?: readonly string[]; sql?: string } | readonly unknown[];
  if (Array.isArray(a)) return (a[0] as readonly string[]).join("?");
  const o = a as { strings?: readonly string[]; sql?: string };
  return o.sql ?? o.strings?.join("?") ?? "";
}

/** An in-memory instance of the env with some dependencies replaced. */
export function instanceWith(env: TestEnv, overrides: Partial<ChatServerDeps>) {
  const saved = env.deps;
  env.deps = { ...saved, ...overrides };
  try {
    return inMemoryInstance(env);
  } finally {
    env.deps = saved;
  }
}

/**
 * Runs a scenario of scenarios.ts in a child process against the env's
 * database and Redis; resolves with its JSON report. A child that does not
 * finish within `ms` is killed: the server it runs is stuck.
 */
export function runScenario<T>(
  env: TestEnv,
  scenario: string,
  args: string[],
  ms: number,
): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/feed/scenarios.ts",
        scenario,
        env.databaseUrl,
        `${env.redisPrefix}${scenario}:`,
        ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `scenario ${scenario} did not finish within ${ms} ms: the server in it is stuck` +
            ` (no feed must ever block its instance)\nstdout: ${out}\nstderr: ${err}`,
        ),
      );
    }, ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && line.startsWith("{")) resolvePromise(JSON.parse(line) as T);
      else
        reject(
          new Error(`scenario ${scenario} exited with ${code}\nstdout: ${out}\nstderr: ${err}`),
        );
    });
  });
}

/** A chat server instance running in a child process (server-process.ts). */
export interface ServerProcess {
  url: string;
  /** Graceful shutdown (SIGTERM), then SIGKILL after `ms`. */
  stop(ms?: number): Promise<void>;
}

/** Starts an instance of the env (its database and Redis) in a child process. */
export function startServerProcess(
  env: TestEnv,
  feed: Record<string, number> = {},
): Promise<ServerProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/feed/server-process.ts",
        env.databaseUrl,
        env.redisPrefix,
        JSON.stringify(feed),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server process did not start\nstderr: ${err}`));
    }, 20_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const line = out.split("\n")[0] ?? "";
      if (!out.includes("\n") || !line.startsWith("{")) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolvePromise({
        url: `http://127.0.0.1:${port}`,
        async stop(ms = 3_000) {
          if (child.exitCode !== null) return;
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), ms);
          await exited;
          clearTimeout(t);
        },
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code}) before listening\nstderr: ${err}`));
    });
  });
}

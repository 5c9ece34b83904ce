/**
 * The resumable feed: one live stream of every room the user belongs to,
 * as an async iterable of typed events that survives disconnects. It
 * reconnects with exponential backoff and full jitter, resumes on whichever
 * instance answers from the last sequence it handed out per room, and
 * delivers every room event exactly once and in order across reconnects
 * (the server replays what is missing; anything already delivered is
 * dropped here). A room too far behind arrives as a typed `reset`.
 *
 * The connection itself is pluggable: FeedService.Subscribe (any HTTP
 * version, browsers) or the bidirectional Chat stream (chat-feed.ts).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type BackoffOptions, backoffDelay, defaultBackoff } from "../backoff.js";
import { decodeError } from "../errors.js";
import {
  type FeedEvent,
  type Ready,
  type Reset,
  ResetSchema,
  type RoomRemoved,
  RoomRemovedSchema,
} from "../gen/chat/v1/feed_pb.js";
import type { ListMessagesResponse } from "../gen/chat/v1/message_pb.js";
import { type Sleep, sleep } from "../sleep.js";
import type { TokenSource } from "../token-source.js";
import { type Position, type PositionsInit, positionsFrom } from "./positions.js";

/** Where the connection stands. */
export type FeedStatus =
  | { state: "connecting"; attempt: number }
  | { state: "live" }
  | {
      state: "waiting";
      attempt: number;
      /** When the next attempt starts (ms since the epoch). */
      retryAt: number;
      delayMs: number;
      /** Why the last connection ended. */
      error: ConnectError;
    }
  | { state: "stopped"; error: ConnectError };

/** A `reset`: the room must be reloaded; events continue after `value.lastSeq`. */
export interface ResetItem {
  case: "reset";
  value: Reset;
  /** The position before the reset (what the caller had), if there was one. */
  previousSeq: bigint | undefined;
  /**
   * With `reloadOnReset`: the newest messages up to `value.lastSeq`, in
   * their current state, ready to replace what the caller shows.
   */
  history?: ListMessagesResponse;
  /** With `reloadOnReset`: why the reload failed (then `history` is unset). */
  historyError?: ConnectError;
}

/** A change of the connection's status. */
export interface StatusItem {
  case: "status";
  value: FeedStatus;
}

type EventCase = Exclude<FeedEvent["event"], { case: undefined }>;

/**
 * What the feed yields: the server's feed events (`ready`, `roomEvent`,
 * `readMarker`, `typing`, `presence`, `roomStats`, `roomAdded`,
 * `roomRemoved`, and `heartbeat` if asked for), `reset` with what the SDK
 * adds to it, and `status` changes of the connection.
 */
export type FeedItem = Exclude<EventCase, { case: "reset" }> | ResetItem | StatusItem;

/** Options of a feed. */
export interface FeedOptions {
  /** Positions to resume from (saved with `feed.positions()` / positionsToJson). */
  positions?: PositionsInit;
  /**
   * On `reset`, load the newest messages up to the reset point with
   * ListMessages and hand them over with the event (`true`: 50 of them).
   */
  reloadOnReset?: boolean | { limit: number };
  /** Yield heartbeats too (default: they only keep the connection checked). */
  heartbeats?: boolean;
  /**
   * Ask the server for heartbeats this often (ms, 1000-300000) while the
   * feed is idle; default: the server's (15 s). The feed reconnects after
   * two intervals plus 5 s of silence, so a shorter interval notices a dead
   * or frozen server sooner, for a little more traffic.
   */
  heartbeatIntervalMs?: number;
  /** Reconnect backoff (default 0.5 s doubling up to 30 s, full jitter). */
  backoff?: BackoffOptions;
  /** After being live this long (ms), the backoff starts over (default 5 s). */
  stableMs?: number;
  /**
   * Reconnect when nothing arrived for this long (ms); default: twice the
   * heartbeat interval `ready` announces, plus 5 s.
   */
  silenceMs?: number;
  /** Ends the feed (like close()). */
  signal?: AbortSignal;
  /** Source of jitter, in [0, 1) (tests). */
  random?: () => number;
  /** Clock (tests). */
  now?: () => number;
}

/** What one connection asks the server for (SubscribeRequest). */
export interface FeedRequest {
  positions: Position[];
  /** 0: the server's default. */
  heartbeatIntervalMs: number;
}

/** What a feed needs from the client. */
export interface FeedDeps {
  /** Opens one connection as `request` says; its events, in order. */
  connect(request: FeedRequest, signal: AbortSignal): AsyncIterable<FeedEvent>;
  /** Ids of every room the caller belongs to (to drop stale positions). */
  listMyRoomIds(): Promise<Set<bigint>>;
  /** The newest `limit` messages of a room up to `throughSeq`. */
  loadLatest(roomId: bigint, throughSeq: bigint, limit: number): Promise<ListMessagesResponse>;
  /** Where tokens come from, if the client manages them. */
  tokens: TokenSource | undefined;
}

/** Most positions one Subscribe may carry (SubscribeRequest.positions). */
export const MAX_POSITIONS = 1000;

/** Codes after which reconnecting cannot help. */
const FATAL = new Set([Code.InvalidArgument, Code.PermissionDenied]);

/** One thing to hand out, and the position change that goes with it. */
interface Delivery {
  item?: FeedItem;
  commit?: () => void;
}

/**
 * A feed that resumes across disconnects. Iterate it once
 * (`for await (const item of feed)`); the loop ends when `close()` is
 * called or the signal aborts, and throws the ConnectError that stopped it
 * for good (INVALID_ARGUMENT, PERMISSION_DENIED, or UNAUTHENTICATED when
 * `getToken` has no other token). Breaking out of the loop closes the
 * connection; iterating again resumes where it stopped.
 */
export class ResumableFeed implements AsyncIterable<FeedItem> {
  private readonly pos: Map<bigint, bigint>;
  private current: FeedStatus = { state: "connecting", attempt: 0 };
  private closed = false;
  private iterating = false;
  private connection: AbortController | undefined;
  private wait: Sleep | undefined;

  constructor(
    protected readonly deps: FeedDeps,
    protected readonly options: FeedOptions = {},
  ) {
    this.pos = positionsFrom(options.positions);
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    if (options.signal?.aborted) this.closed = true;
  }

  /** The connection's status now. */
  get status(): FeedStatus {
    return this.current;
  }

  /**
   * Per room, the last sequence handed out (the event being handled
   * included). Save them (positionsToJson) after handling events to resume
   * there after a restart.
   */
  positions(): Position[] {
    return [...this.pos].map(([roomId, lastSeq]) => ({ roomId, lastSeq }));
  }

  /** The last sequence handed out for one room. */
  positionOf(roomId: bigint): bigint | undefined {
    return this.pos.get(roomId);
  }

  /**
   * Sets where a room starts if the feed has no position for it yet, e.g.
   * from a ListMyRooms snapshot loaded before the feed opens, so nothing
   * between the snapshot and the stream is missed. Known rooms are left
   * alone (their position only moves with delivered events).
   */
  seed(positions: Iterable<Position>): void {
    for (const p of positions) if (!this.pos.has(p.roomId)) this.pos.set(p.roomId, p.lastSeq);
  }

  /** Ends the feed: the connection closes and the loop ends. */
  close(): void {
    this.closed = true;
    this.connection?.abort();
    this.wait?.wake();
  }

  /** Skips the backoff wait and reconnects now (e.g. the network came back). */
  reconnectNow(): void {
    this.wait?.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FeedItem, void, undefined> {
    if (this.iterating) throw new Error("this feed is already being iterated");
    this.iterating = true;
    try {
      yield* this.run();
    } finally {
      this.iterating = false;
      this.connection?.abort();
    }
  }

  /** Whether reconnecting after `error` cannot help (chat-feed.ts adds to it). */
  protected isFatal(error: ConnectError): boolean {
    return FATAL.has(error.code);
  }

  private setStatus(value: FeedStatus): StatusItem {
    this.current = value;
    return { case: "status", value };
  }

  private async *run(): AsyncGenerator<FeedItem, void, undefined> {
    const now = this.options.now ?? Date.now;
    const stableMs = this.options.stableMs ?? 5_000;
    let attempt = 0;
    // One token refresh per successful `ready`: a provider that keeps
    // handing out refused tokens must not make us loop.
    let refreshed = false;
    while (!this.closed) {
      yield this.setStatus({ state: "connecting", attempt });
      if (this.closed) return;
      const abort = new AbortController();
      this.connection = abort;
      const sent = this.positionsToSend();
      let silenceMs = this.options.silenceMs ?? 45_000;
      let silent = false;
      let liveSince: number | undefined;
      let error: ConnectError;
      let events: AsyncIterator<FeedEvent> | undefined;
      try {
        const request = {
          positions: sent.list,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 0,
        };
        events = this.deps.connect(request, abort.signal)[Symbol.asyncIterator]();
        for (;;) {
          // The silence timer runs only while we wait for the server: time
          // the caller spends on an item is not the server's silence.
          const timer = setTimeout(() => {
            silent = true;
            abort.abort();
          }, silenceMs);
          let next: IteratorResult<FeedEvent>;
          try {
            next = await events.next();
          } finally {
            clearTimeout(timer);
          }
          if (this.closed) return;
          if (next.done) {
            error = new ConnectError("the feed ended", Code.Unavailable);
            break;
          }
          const ev = next.value;
          if (ev.event.case === "ready") {
            liveSince = now();
            refreshed = false;
            const hb = ev.event.value.heartbeatIntervalMs;
            if (hb > 0 && this.options.silenceMs === undefined) silenceMs = hb * 2 + 5_000;
          }
          for (const d of await this.handle(ev, sent.included)) {
            if (this.closed) return;
            d.commit?.();
            if (d.item) yield d.item;
          }
          if (ev.event.case === "ready") yield this.setStatus({ state: "live" });
        }
      } catch (err) {
        error = ConnectError.from(err);
      } finally {
        abort.abort();
      }
      if (silent) error = new ConnectError("no heartbeat from the server", Code.DeadlineExceeded);
      if (this.closed) return;
      if (liveSince !== undefined && now() - liveSince >= stableMs) attempt = 0;

      if (error.code === Code.Unauthenticated) {
        if (!refreshed && (await this.freshToken())) {
          refreshed = true;
          continue;
        }
        yield this.setStatus({ state: "stopped", error });
        throw error;
      }
      if (this.isFatal(error)) {
        yield this.setStatus({ state: "stopped", error });
        throw error;
      }
      if (error.code === Code.NotFound) {
        // A position names a room we no longer belong to (left or removed
        // while away): drop it, tell the caller, and resume without it.
        for (const d of await this.pruneRooms()) {
          if (this.closed) return;
          d.commit?.();
          if (d.item) yield d.item;
        }
      }
      const delayMs = Math.max(
        backoffDelay(attempt, this.options.random, this.options.backoff ?? defaultBackoff),
        decodeError(error).retryDelayMs ?? 0,
      );
      yield this.setStatus({ state: "waiting", attempt, retryAt: now() + delayMs, delayMs, error });
      attempt += 1;
      if (this.closed) return;
      this.wait = sleep(delayMs);
      await this.wait.done;
      this.wait = undefined;
    }
  }

  /** Positions for the next Subscribe: all of them, up to the request's limit. */
  private positionsToSend(): { list: Position[]; included: Set<bigint> } {
    const all = this.positions().sort((a, b) =>
      a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0,
    );
    const list = all.slice(0, MAX_POSITIONS);
    return { list, included: new Set(list.map((p) => p.roomId)) };
  }

  /** Whether the token source has a new token after a refusal. */
  private async freshToken(): Promise<boolean> {
    const tokens = this.deps.tokens;
    if (!tokens?.refreshable) return false;
    const rejected = tokens.rejected;
    try {
      const token = await tokens.get();
      return token !== undefined && token !== rejected;
    } catch {
      return false;
    }
  }

  /** What one server event means for the caller, in order. */
  private async handle(ev: FeedEvent, sent: Set<bigint>): Promise<Delivery[]> {
    const e = ev.event;
    switch (e.case) {
      case "ready":
        return this.onReady(e.value, sent);
      case "roomEvent": {
        const { roomId, seq } = e.value;
        const have = this.pos.get(roomId);
        if (have !== undefined && seq <= have) return []; // delivered before
        if (have !== undefined && seq !== have + 1n) {
          // The server never skips; if it ever did, resuming refills the hole.
          throw new ConnectError(
            `feed skipped from sequence ${have} to ${seq} in room ${roomId}`,
            Code.DataLoss,
          );
        }
        return [{ item: e, commit: () => this.pos.set(roomId, seq) }];
      }
      case "reset":
        return [await this.onReset(e.value)];
      case "roomRemoved": {
        const id = e.value.roomId;
        return [{ item: e, commit: () => this.pos.delete(id) }];
      }
      case "heartbeat":
        return this.options.heartbeats ? [{ item: e }] : [];
      case undefined:
        return [];
      default:
        return [{ item: e }];
    }
  }

  private async onReady(ready: Ready, sent: Set<bigint>): Promise<Delivery[]> {
    // Rooms that were not resumed start live where `ready` says; they are
    // placed before `ready` is handed out, so positions() is whole by then.
    const out: Delivery[] = [];
    const after: Delivery[] = [];
    const listed = new Set<bigint>();
    for (const r of ready.rooms) {
      listed.add(r.roomId);
      const have = this.pos.get(r.roomId);
      if (have === undefined) {
        out.push({ commit: () => this.pos.set(r.roomId, r.lastSeq) });
      } else if (!sent.has(r.roomId) && r.lastSeq > have) {
        // Left out of a full request: the events in between are not
        // coming, so say so rather than skip them silently.
        after.push(
          await this.onReset(create(ResetSchema, { roomId: r.roomId, lastSeq: r.lastSeq })),
        );
      }
    }
    for (const roomId of this.pos.keys()) {
      if (!listed.has(roomId) && !sent.has(roomId)) after.push(this.removed(roomId));
    }
    return [...out, { item: { case: "ready", value: ready } }, ...after];
  }

  private async onReset(reset: Reset): Promise<Delivery> {
    const previousSeq = this.pos.get(reset.roomId);
    const item: ResetItem = { case: "reset", value: reset, previousSeq };
    const reload = this.options.reloadOnReset;
    if (reload) {
      const limit = typeof reload === "object" ? reload.limit : 50;
      try {
        item.history = await this.deps.loadLatest(reset.roomId, reset.lastSeq, limit);
      } catch (err) {
        item.historyError = ConnectError.from(err);
      }
    }
    return { item, commit: () => this.pos.set(reset.roomId, reset.lastSeq) };
  }

  private removed(roomId: bigint): Delivery {
    const value: RoomRemoved = create(RoomRemovedSchema, { roomId });
    return { item: { case: "roomRemoved", value }, commit: () => this.pos.delete(roomId) };
  }

  private async pruneRooms(): Promise<Delivery[]> {
    let mine: Set<bigint>;
    try {
      mine = await this.deps.listMyRoomIds();
    } catch {
      return []; // the next attempt finds out again
    }
    return [...this.pos.keys()].filter((id) => !mine.has(id)).map((id) => this.removed(id));
  }
}

/**
 * The tab's one live feed: a FeedService.Subscribe stream carrying every
 * room, reopened after failures with backoff and full jitter and resumed
 * from the last sequence seen per room. Never one stream per room: browsers
 * allow six connections per host across all tabs.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { FeedEvent, SubscribeResponse } from "../../../gen/chat/v1/feed_pb.js";

/** Where the client stands in one room. */
export interface Position {
  roomId: bigint;
  lastSeq: bigint;
}

import { type BackoffOptions, backoffDelay, defaultBackoff } from "./backoff.js";

export type FeedStatus =
  | { state: "connecting"; attempt: number }
  | { state: "live" }
  | { state: "waiting"; attempt: number; retryAt: number; error: string }
  | { state: "stopped"; error: string };

export interface FeedClientOptions {
  /** Opens the stream (FeedService.Subscribe). */
  subscribe(
    positions: Position[],
    signal: AbortSignal,
  ): AsyncIterable<Pick<SubscribeResponse, "event">>;
  /** Where each known room stands, read at every (re)connect. */
  positions(): Position[];
  onEvent(event: FeedEvent): void;
  onStatus(status: FeedStatus): void;
  /** The token was revoked or expired: stop and sign out. */
  onUnauthenticated(err: ConnectError): void;
  /** A room we sent a position for is no longer ours: refresh the room list. */
  onRoomsStale(): Promise<void>;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Reconnect when nothing arrived for this long (ms); default from `ready`. */
  silenceMs?: number;
  /** Setting the stream was live this long resets the backoff. */
  stableMs?: number;
  now?: () => number;
}

/** Codes after which reconnecting would not help. */
const FATAL = new Set([Code.Canceled, Code.InvalidArgument, Code.PermissionDenied]);

export class FeedClient {
  private abort: AbortController | undefined;
  private wakeUp: (() => void) | undefined;
  private running = false;
  private stopped = false;
  private attempt = 0;
  private readonly opts: FeedClientOptions;

  constructor(opts: FeedClientOptions) {
    this.opts = opts;
  }

  /** Starts the loop; resolves when it stops for good. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.stopped = false;
    return this.loop().finally(() => {
      this.running = false;
    });
  }

  /** Ends the stream and the loop. */
  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wakeUp?.();
  }

  /** Skip the wait and reconnect now (e.g. the browser came back online). */
  retryNow(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    while (!this.stopped) {
      this.opts.onStatus({ state: "connecting", attempt: this.attempt });
      const abort = new AbortController();
      this.abort = abort;
      let silenceTimer: ReturnType<typeof setTimeout> | undefined;
      let silenceMs = this.opts.silenceMs ?? 45_000;
      let silent = false;
      const arm = () => {
        clearTimeout(silenceTimer);
        silenceTimer = setTimeout(() => {
          silent = true;
          abort.abort();
        }, silenceMs);
      };
      let liveSince: number | undefined;
      let error: ConnectError;
      try {
        arm();
        for await (const res of this.opts.subscribe(this.opts.positions(), abort.signal)) {
          const event = res.event;
          if (!event) continue;
          if (event.event.case === "ready") {
            liveSince = now();
            const hb = event.event.value.heartbeatIntervalMs;
            if (hb > 0 && this.opts.silenceMs === undefined) silenceMs = hb * 2 + 5_000;
          }
          arm();
          this.opts.onEvent(event);
          if (event.event.case === "ready") this.opts.onStatus({ state: "live" });
        }
        error = new ConnectError("the feed ended", Code.Unavailable);
      } catch (err) {
        error = ConnectError.from(err);
      } finally {
        clearTimeout(silenceTimer);
      }
      if (this.stopped) return;
      if (silent) error = new ConnectError("no heartbeat from the server", Code.DeadlineExceeded);
      if (liveSince !== undefined && now() - liveSince >= (this.opts.stableMs ?? 5_000)) {
        this.attempt = 0;
      }
      if (error.code === Code.Unauthenticated) {
        this.opts.onStatus({ state: "stopped", error: error.rawMessage });
        this.opts.onUnauthenticated(error);
        return;
      }
      if (FATAL.has(error.code)) {
        this.opts.onStatus({ state: "stopped", error: error.rawMessage });
        return;
      }
      if (error.code === Code.NotFound) {
        try {
          await this.opts.onRoomsStale();
        } catch {
          // the wait below covers it
        }
      }
      const delay = backoffDelay(
        this.attempt,
        this.opts.random,
        this.opts.backoff ?? defaultBackoff,
      );
      this.opts.onStatus({
        state: "waiting",
        attempt: this.attempt,
        retryAt: now() + delay,
        error: error.rawMessage,
      });
      this.attempt += 1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}

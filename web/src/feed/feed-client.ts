/**
 * The tab's one live feed: the SDK's resumable feed (one Subscribe stream
 * for every room, reconnected with backoff and full jitter, resumed from
 * the last sequence per room, each room event once and in order), run in
 * the background and handed to the app's state as it arrives. Never one
 * stream per room: browsers allow six connections per host across all tabs.
 */

import { create } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import {
  Code,
  type FeedEvent,
  FeedEventSchema,
  type ResumableFeed,
  type FeedStatus as SdkStatus,
} from "@protochat/sdk";

/** The connection as the app shows it. */
export type FeedStatus =
  | { state: "connecting"; attempt: number }
  | { state: "live" }
  | { state: "waiting"; attempt: number; retryAt: number; error: string }
  | { state: "stopped"; error: string };

export interface FeedClientOptions {
  /** The SDK feed (client.follow()); its positions are seeded by the app. */
  feed: ResumableFeed;
  onEvent(event: FeedEvent): void;
  onStatus(status: FeedStatus): void;
  /** The token was revoked or expired: stop and sign out. */
  onUnauthenticated(err: ConnectError): void;
}

function shown(s: SdkStatus): FeedStatus {
  switch (s.state) {
    case "waiting":
      return {
        state: "waiting",
        attempt: s.attempt,
        retryAt: s.retryAt,
        error: s.error.rawMessage,
      };
    case "stopped":
      return { state: "stopped", error: s.error.rawMessage };
    default:
      return s;
  }
}

export class FeedClient {
  private running: Promise<void> | undefined;
  private readonly opts: FeedClientOptions;

  constructor(opts: FeedClientOptions) {
    this.opts = opts;
  }

  /** The SDK feed (positions, seeding). */
  get feed(): ResumableFeed {
    return this.opts.feed;
  }

  /** Runs the feed; resolves when it stops for good or is stopped. */
  start(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const o = this.opts;
    try {
      for await (const item of o.feed) {
        if (item.case === "status") o.onStatus(shown(item.value));
        else o.onEvent(create(FeedEventSchema, { event: item }));
      }
    } catch (err) {
      // The feed already reported `stopped`; say why when it is the token.
      const ce = err as ConnectError;
      if (ce.code === Code.Unauthenticated) o.onUnauthenticated(ce);
    }
  }

  /** Ends the stream and the loop. */
  stop(): void {
    this.opts.feed.close();
  }

  /** Skip the wait and reconnect now (e.g. the browser came back online). */
  retryNow(): void {
    this.opts.feed.reconnectNow();
  }
}

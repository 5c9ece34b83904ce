/**
 * Publish/subscribe between server instances. With Redis, one subscribing
 * connection per process carries every channel this process listens to,
 * and fan-out to local subscribers happens in memory. Without Redis, one
 * instance runs on the in-process broker with the same interface.
 *
 * Local subscribers never depend on Redis: a publish reaches this process's
 * own handlers directly, and Redis carries it to the other instances (each
 * skips its own messages when they come back). So while Redis is down,
 * feeds of rooms whose writes land on the same instance keep flowing.
 * Messages of other instances published while the bus was down are lost
 * by Redis; subscribers learn of it through {@link Broker.onResync} and
 * read what they missed from storage.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Receives a channel's payloads (protobuf bytes), in publish order. */
export type BusHandler = (payload: Uint8Array) => void;

/** A pub/sub bus. Payloads are encoded chat.internal.v1.BusMessage. */
export interface Broker {
  /**
   * Delivers to this process's subscribers (asynchronously, like Redis)
   * and to the other instances when the bus is up. Never throws for a bus
   * outage: the other instances re-sync when it is back.
   */
  publish(channel: string, payload: Uint8Array): Promise<void>;
  /**
   * Starts delivering `channel` to `handler`. Resolves once publishes of
   * other instances are guaranteed to arrive, or, while the bus is down,
   * after a short bound: a resync follows when it is back. Never rejects
   * because of the bus. The returned function stops it.
   */
  subscribe(channel: string, handler: BusHandler): Promise<() => void>;
  /**
   * Calls `fn` whenever messages of other instances may have been missed
   * (the bus was down or a subscription failed) and the bus is whole
   * again: subscribers must re-read what they follow from storage.
   */
  onResync(fn: () => void): void;
  close(): Promise<void>;
}

/** Keeps handlers per channel; shared by both brokers. */
class Handlers {
  private readonly map = new Map<string, Set<BusHandler>>();

  /** Adds; true when it is the channel's first handler. */
  add(channel: string, h: BusHandler): boolean {
    let set = this.map.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.map.set(channel, set);
    }
    set.add(h);
    return first;
  }

  /** Removes; true when the channel has no handler left. */
  remove(channel: string, h: BusHandler): boolean {
    const set = this.map.get(channel);
    if (!set?.delete(h)) return false;
    if (set.size > 0) return false;
    this.map.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.map.has(channel);
  }

  channels(): string[] {
    return [...this.map.keys()];
  }

  dispatch(channel: string, payload: Uint8Array, onError: (err: unknown) => void): void {
    const set = this.map.get(channel);
    if (!set) return;
    for (const h of set) {
      try {
        h(payload);
      } catch (err) {
        onError(err);
      }
    }
  }
}

/** Single-process broker. Delivery is asynchronous, like Redis. */
export class InProcessBroker implements Broker {
  private readonly handlers = new Handlers();

  constructor(private readonly logger?: Logger) {}

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    queueMicrotask(() =>
      this.handlers.dispatch(channel, payload, (err) =>
        this.logger?.error({ err, channel }, "bus handler failed"),
      ),
    );
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    this.handlers.add(channel, handler);
    return () => {
      this.handlers.remove(channel, handler);
    };
  }

  onResync(): void {}

  async close(): Promise<void> {}
}

/** Bounds of the Redis broker. */
export interface RedisBrokerOptions {
  /** Longest a subscribe waits for Redis to confirm before going on degraded. */
  subscribeWaitMs: number;
  /** How often channels whose SUBSCRIBE failed are tried again. */
  repairEveryMs: number;
}

const defaultRedisBrokerOptions: RedisBrokerOptions = {
  subscribeWaitMs: 1_000,
  repairEveryMs: 1_000,
};

/** First byte of a Redis bus payload in this format: origin id follows. */
const wireVersion = 1;
const originBytes = 8;

/**
 * Redis pub/sub broker: one extra connection per process for SUBSCRIBE.
 * On Redis a payload is `[1][8-byte origin id][BusMessage]`, so each
 * instance recognises (and skips) what it published itself.
 */
export class RedisBroker implements Broker {
  private readonly handlers = new Handlers();
  private readonly sub: Redis;
  private readonly origin = randomBytes(originBytes);
  /** Channels Redis confirmed since the subscriber connection last (re)connected. */
  private readonly active = new Set<string>();
  /** SUBSCRIBEs in flight, shared by every subscriber of the channel. */
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** Something may have been missed: resync once every channel is active again. */
  private dirty = false;
  private readonly resyncers: (() => void)[] = [];
  private readonly repair: NodeJS.Timeout;
  private closed = false;
  private readonly options: RedisBrokerOptions;

  constructor(
    private readonly pub: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    options: Partial<RedisBrokerOptions> = {},
  ) {
    this.options = { ...defaultRedisBrokerOptions, ...options };
    // Resubscribing is ours (see onReady): ioredis's own would not tell us
    // when every channel is back, which is when a resync is safe.
    this.sub = pub.duplicate({ autoResubscribe: false, enableOfflineQueue: false });
    this.sub.on("error", (err) => logger.debug({ err: err.message }, "redis subscriber error"));
    this.sub.on("close", () => {
      if (this.active.size > 0 || this.handlers.channels().length > 0) this.dirty = true;
      this.active.clear();
    });
    this.sub.on("ready", () => void this.subscribeMissing());
    this.sub.on("messageBuffer", (channel: Buffer, message: Buffer) =>
      this.onMessage(channel, message),
    );
    this.repair = setInterval(() => {
      if (this.dirty || this.missing().length > 0) void this.subscribeMissing();
    }, this.options.repairEveryMs);
    this.repair.unref();
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    if (message.byteLength < 1 + originBytes || message[0] !== wireVersion) {
      this.logger.warn({ channel: channel.toString() }, "bus message in an unknown format dropped");
      return;
    }
    // Our own publish: already delivered locally.
    if (this.origin.equals(message.subarray(1, 1 + originBytes))) return;
    const name = channel.toString().slice(this.prefix.length);
    this.handlers.dispatch(name, message.subarray(1 + originBytes), (err) =>
      this.logger.error({ err, channel: name }, "bus handler failed"),
    );
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    queueMicrotask(() =>
      this.handlers.dispatch(channel, payload, (err) =>
        this.logger.error({ err, channel }, "bus handler failed"),
      ),
    );
    if (this.pub.status !== "ready") return;
    const wire = Buffer.allocUnsafe(1 + originBytes + payload.byteLength);
    wire[0] = wireVersion;
    this.origin.copy(wire, 1);
    wire.set(payload, 1 + originBytes);
    try {
      await this.pub.publish(this.prefix + channel, wire);
    } catch (err) {
      // The others miss it; they re-sync from storage when the bus is back.
      this.logger.debug({ err, channel }, "bus publish failed");
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    this.handlers.add(channel, handler);
    if (!this.active.has(channel)) {
      const ok = this.inflight.get(channel) ?? this.startSubscribe(channel);
      // Bounded: with Redis down the channel goes on locally and is
      // repaired (then re-synced) when Redis answers again.
      let timer: NodeJS.Timeout | undefined;
      const confirmed = await Promise.race([
        ok,
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.options.subscribeWaitMs);
        }),
      ]);
      clearTimeout(timer);
      if (!confirmed) this.dirty = true;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (!this.handlers.remove(channel, handler)) return;
      this.active.delete(channel);
      if (this.sub.status !== "ready") return;
      this.sub.unsubscribe(this.prefix + channel).catch((err: unknown) => {
        this.logger.debug({ err, channel }, "redis unsubscribe failed");
      });
    };
  }

  /**
   * Sends one SUBSCRIBE, shared by every subscriber of the channel until it
   * settles; true once Redis confirmed it. Never rejects: a failure leaves
   * nothing cached, the channel stays missing and is tried again.
   */
  private startSubscribe(channel: string): Promise<boolean> {
    const attempt = (async () => {
      if (this.sub.status !== "ready") return false;
      try {
        await this.sub.subscribe(this.prefix + channel);
        // Unsubscribed meanwhile: the UNSUBSCRIBE went out after ours.
        if (this.handlers.has(channel)) this.active.add(channel);
        return true;
      } catch (err) {
        this.logger.debug({ err, channel }, "redis subscribe failed");
        return false;
      }
    })().then((ok) => {
      if (this.inflight.get(channel) === attempt) this.inflight.delete(channel);
      if (!ok) this.dirty = true;
      return ok;
    });
    this.inflight.set(channel, attempt);
    return attempt;
  }

  private missing(): string[] {
    return this.handlers.channels().filter((c) => !this.active.has(c) && !this.inflight.has(c));
  }

  /**
   * Subscribes every channel Redis does not confirm yet; once all are
   * active after something was missed, tells the resyncers.
   */
  private async subscribeMissing(): Promise<void> {
    if (this.closed || this.sub.status !== "ready") return;
    const channels = this.missing();
    const results = await Promise.all(channels.map((c) => this.startSubscribe(c)));
    if (results.includes(false) || this.sub.status !== "ready") {
      this.dirty = true;
      return;
    }
    if (!this.dirty || this.inflight.size > 0) return;
    this.dirty = false;
    this.logger.info(
      { channels: this.active.size },
      "bus subscriptions restored: re-syncing feeds",
    );
    for (const fn of this.resyncers) {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, "bus resync failed");
      }
    }
  }

  onResync(fn: () => void): void {
    this.resyncers.push(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.repair);
    this.sub.disconnect();
  }
}

/**
 * Publish/subscribe between server instances. With Redis, one subscribing
 * connection per process carries every channel this process listens to, and
 * fan-out to local subscribers happens in memory. Without Redis, one
 * instance runs on the in-process broker with the same interface.
 */
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Receives a channel's payloads (protobuf bytes), in publish order. */
export type BusHandler = (payload: Uint8Array) => void;

/** A pub/sub bus. Payloads are encoded chat.internal.v1.BusMessage. */
export interface Broker {
  publish(channel: string, payload: Uint8Array): Promise<void>;
  /**
   * Starts delivering `channel` to `handler`; resolves once the
   * subscription is active (later publishes are guaranteed to arrive).
   * The returned function stops it.
   */
  subscribe(channel: string, handler: BusHandler): Promise<() => void>;
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

  async close(): Promise<void> {}
}

/** Redis pub/sub broker: one extra connection per process for SUBSCRIBE. */
export class RedisBroker implements Broker {
  private readonly handlers = new Handlers();
  private readonly sub: Redis;
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly pub: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.sub = pub.duplicate();
    this.sub.on("error", (err) => logger.warn({ err: err.message }, "redis subscriber error"));
    this.sub.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      const name = channel.toString().slice(this.prefix.length);
      this.handlers.dispatch(name, message, (err) =>
        logger.error({ err, channel: name }, "bus handler failed"),
      );
    });
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    await this.pub.publish(
      this.prefix + channel,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    );
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    if (this.handlers.add(channel, handler)) {
      // Later subscribers of the same channel wait for the same SUBSCRIBE.
      const ready = this.sub.subscribe(this.prefix + channel).then(() => {});
      this.pending.set(channel, ready);
      try {
        await ready;
      } catch (err) {
        this.handlers.remove(channel, handler);
        throw err;
      } finally {
        if (this.pending.get(channel) === ready) this.pending.delete(channel);
      }
    } else {
      await this.pending.get(channel);
    }
    return () => {
      if (this.handlers.remove(channel, handler)) {
        this.sub.unsubscribe(this.prefix + channel).catch((err: unknown) => {
          this.logger.warn({ err, channel }, "redis unsubscribe failed");
        });
      }
    };
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}

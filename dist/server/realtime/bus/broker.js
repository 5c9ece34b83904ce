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
/** Keeps handlers per channel; shared by both brokers. */
class Handlers {
    map = new Map();
    /** Adds; true when it is the channel's first handler. */
    add(channel, h) {
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
    remove(channel, h) {
        const set = this.map.get(channel);
        if (!set?.delete(h))
            return false;
        if (set.size > 0)
            return false;
        this.map.delete(channel);
        return true;
    }
    has(channel) {
        return this.map.has(channel);
    }
    channels() {
        return [...this.map.keys()];
    }
    dispatch(channel, payload, onError) {
        const set = this.map.get(channel);
        if (!set)
            return;
        for (const h of set) {
            try {
                h(payload);
            }
            catch (err) {
                onError(err);
            }
        }
    }
}
/** Single-process broker. Delivery is asynchronous, like Redis. */
export class InProcessBroker {
    logger;
    handlers = new Handlers();
    constructor(logger) {
        this.logger = logger;
    }
    async publish(channel, payload) {
        queueMicrotask(() => this.handlers.dispatch(channel, payload, (err) => this.logger?.error({ err, channel }, "bus handler failed")));
    }
    async subscribe(channel, handler) {
        this.handlers.add(channel, handler);
        return () => {
            this.handlers.remove(channel, handler);
        };
    }
    onResync() { }
    async close() { }
}
const defaultRedisBrokerOptions = {
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
export class RedisBroker {
    pub;
    prefix;
    logger;
    handlers = new Handlers();
    sub;
    origin = randomBytes(originBytes);
    /** Channels Redis confirmed since the subscriber connection last (re)connected. */
    active = new Set();
    /** SUBSCRIBEs in flight, shared by every subscriber of the channel. */
    inflight = new Map();
    /** Something may have been missed: resync once every channel is active again. */
    dirty = false;
    resyncers = [];
    repair;
    closed = false;
    options;
    constructor(pub, prefix, logger, options = {}) {
        this.pub = pub;
        this.prefix = prefix;
        this.logger = logger;
        this.options = { ...defaultRedisBrokerOptions, ...options };
        // Resubscribing is ours (see onReady): ioredis's own would not tell us
        // when every channel is back, which is when a resync is safe.
        this.sub = pub.duplicate({ autoResubscribe: false, enableOfflineQueue: false });
        this.sub.on("error", (err) => logger.debug({ err: err.message }, "redis subscriber error"));
        this.sub.on("close", () => {
            if (this.active.size > 0 || this.handlers.channels().length > 0)
                this.dirty = true;
            this.active.clear();
        });
        this.sub.on("ready", () => void this.subscribeMissing());
        this.sub.on("messageBuffer", (channel, message) => this.onMessage(channel, message));
        this.repair = setInterval(() => {
            if (this.dirty || this.missing().length > 0)
                void this.subscribeMissing();
        }, this.options.repairEveryMs);
        this.repair.unref();
    }
    onMessage(channel, message) {
        if (message.byteLength < 1 + originBytes || message[0] !== wireVersion) {
            this.logger.warn({ channel: channel.toString() }, "bus message in an unknown format dropped");
            return;
        }
        // Our own publish: already delivered locally.
        if (this.origin.equals(message.subarray(1, 1 + originBytes)))
            return;
        const name = channel.toString().slice(this.prefix.length);
        this.handlers.dispatch(name, message.subarray(1 + originBytes), (err) => this.logger.error({ err, channel: name }, "bus handler failed"));
    }
    async publish(channel, payload) {
        queueMicrotask(() => this.handlers.dispatch(channel, payload, (err) => this.logger.error({ err, channel }, "bus handler failed")));
        if (this.pub.status !== "ready")
            return;
        const wire = Buffer.allocUnsafe(1 + originBytes + payload.byteLength);
        wire[0] = wireVersion;
        this.origin.copy(wire, 1);
        wire.set(payload, 1 + originBytes);
        try {
            await this.pub.publish(this.prefix + channel, wire);
        }
        catch (err) {
            // The others miss it; they re-sync from storage when the bus is back.
            this.logger.debug({ err, channel }, "bus publish failed");
        }
    }
    async subscribe(channel, handler) {
        this.handlers.add(channel, handler);
        if (!this.active.has(channel)) {
            const ok = this.inflight.get(channel) ?? this.startSubscribe(channel);
            // Bounded: with Redis down the channel goes on locally and is
            // repaired (then re-synced) when Redis answers again.
            let timer;
            const confirmed = await Promise.race([
                ok,
                new Promise((resolve) => {
                    timer = setTimeout(() => resolve(false), this.options.subscribeWaitMs);
                }),
            ]);
            clearTimeout(timer);
            if (!confirmed)
                this.dirty = true;
        }
        let done = false;
        return () => {
            if (done)
                return;
            done = true;
            if (!this.handlers.remove(channel, handler))
                return;
            this.active.delete(channel);
            if (this.sub.status !== "ready")
                return;
            this.sub.unsubscribe(this.prefix + channel).catch((err) => {
                this.logger.debug({ err, channel }, "redis unsubscribe failed");
            });
        };
    }
    /**
     * Sends one SUBSCRIBE, shared by every subscriber of the channel until it
     * settles; true once Redis confirmed it. Never rejects: a failure leaves
     * nothing cached, the channel stays missing and is tried again.
     */
    startSubscribe(channel) {
        const attempt = (async () => {
            if (this.sub.status !== "ready")
                return false;
            try {
                await this.sub.subscribe(this.prefix + channel);
                // Unsubscribed meanwhile: the UNSUBSCRIBE went out after ours.
                if (this.handlers.has(channel))
                    this.active.add(channel);
                return true;
            }
            catch (err) {
                this.logger.debug({ err, channel }, "redis subscribe failed");
                return false;
            }
        })().then((ok) => {
            if (this.inflight.get(channel) === attempt)
                this.inflight.delete(channel);
            if (!ok)
                this.dirty = true;
            return ok;
        });
        this.inflight.set(channel, attempt);
        return attempt;
    }
    missing() {
        return this.handlers.channels().filter((c) => !this.active.has(c) && !this.inflight.has(c));
    }
    /**
     * Subscribes every channel Redis does not confirm yet; once all are
     * active after something was missed, tells the resyncers.
     */
    async subscribeMissing() {
        if (this.closed || this.sub.status !== "ready")
            return;
        const channels = this.missing();
        const results = await Promise.all(channels.map((c) => this.startSubscribe(c)));
        if (results.includes(false) || this.sub.status !== "ready") {
            this.dirty = true;
            return;
        }
        if (!this.dirty || this.inflight.size > 0)
            return;
        this.dirty = false;
        this.logger.info({ channels: this.active.size }, "bus subscriptions restored: re-syncing feeds");
        for (const fn of this.resyncers) {
            try {
                fn();
            }
            catch (err) {
                this.logger.error({ err }, "bus resync failed");
            }
        }
    }
    onResync(fn) {
        this.resyncers.push(fn);
    }
    async close() {
        this.closed = true;
        clearInterval(this.repair);
        this.sub.disconnect();
    }
}
//# sourceMappingURL=broker.js.map
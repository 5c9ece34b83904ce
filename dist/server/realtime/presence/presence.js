/**
 * Presence and room stats. A user is online while they have at least one
 * open feed anywhere in the cluster. Going offline waits a grace period, so
 * a reconnect or a second device closing never makes presence flap; the
 * state changes through an atomic set operation, so exactly one instance
 * announces each change. A periodic sweep (one instance at a time) takes
 * care of feeds lost with a crashed instance. Room stats are coalesced: at
 * most one RoomStats per room per `statsEveryMs`, carrying current figures.
 */
import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { tuning } from "../../config.js";
import { coMemberIds } from "../../store/sql/feeds.js";
import { channels, encodeBus } from "../bus/bus-format.js";
/** From config.ts (tuning.presence). */
export const defaultPresenceOptions = tuning.presence;
/** Tracks open feeds and announces presence and room stats. */
export class Presence {
    store;
    prisma;
    send;
    logger;
    options;
    local = new Map();
    dirtyRooms = new Set();
    graceTimers = new Set();
    statsTimer;
    refreshTimer;
    /** The store missed updates: re-add this instance's feeds and online states at the next tick. */
    reassert = false;
    constructor(store, prisma, send, logger, options = defaultPresenceOptions) {
        this.store = store;
        this.prisma = prisma;
        this.send = send;
        this.logger = logger;
        this.options = options;
        this.refreshTimer = setInterval(() => void this.tick(), options.entryTtlMs / 3);
        this.refreshTimer.unref();
    }
    /**
     * Who among the user's fellow members is online now, so a new feed can
     * start with the current picture instead of waiting for changes. While
     * the store is unavailable the picture starts empty (changes still come).
     */
    async onlineCoMembers(userId) {
        const ids = await coMemberIds(this.prisma, userId, 5_000);
        try {
            return await this.store.whoIsOnline(ids);
        }
        catch (err) {
            this.logger.debug({ err }, "presence snapshot unavailable");
            return [];
        }
    }
    /**
     * A feed opened; returns its id for {@link disconnected} and the user's
     * open feeds across the cluster, this one included. Never fails: while
     * the store is unavailable the count is this instance's own, presence is
     * announced once the store is back (see {@link tick}), and the feed is
     * registered locally either way, so {@link disconnected} always undoes it.
     */
    async connected(userId) {
        const connId = randomUUID();
        this.local.set(connId, userId);
        let openFeeds;
        try {
            openFeeds = await this.store.add(userId, connId, this.options.entryTtlMs);
        }
        catch (err) {
            this.degraded(err);
            return { connId, openFeeds: this.localCount(userId) };
        }
        try {
            if (await this.store.transition(userId, true))
                await this.announce(userId, true);
        }
        catch (err) {
            this.degraded(err);
        }
        return { connId, openFeeds };
    }
    localCount(userId) {
        let n = 0;
        for (const id of this.local.values())
            if (id === userId)
                n++;
        return n;
    }
    /** The store failed: go on locally, and re-assert everything once it answers. */
    degraded(err) {
        if (!this.reassert)
            this.logger.warn({ err }, "presence store unavailable: continuing locally");
        this.reassert = true;
    }
    /** A feed closed; offline follows after the grace period if it was the last. */
    disconnected(userId, connId, opts = {}) {
        this.local.delete(connId);
        this.store
            .remove(userId, connId)
            .then((left) => {
            if (left > 0 || opts.quiet)
                return;
            const timer = setTimeout(() => {
                this.graceTimers.delete(timer);
                void this.settle(userId);
            }, this.options.graceMs);
            timer.unref();
            this.graceTimers.add(timer);
        })
            .catch((err) => this.logger.warn({ err }, "presence update failed"));
    }
    /** Announces offline if the user still has no feed anywhere. */
    async settle(userId) {
        try {
            if ((await this.store.count(userId)) > 0)
                return;
            if (await this.store.transition(userId, false))
                await this.announce(userId, false);
        }
        catch (err) {
            this.logger.warn({ err }, "presence settle failed");
        }
    }
    /** A membership changed: keep the room's online set and stats right. */
    async membershipChanged(roomId, userId, joined) {
        if (!joined || (await this.store.count(userId)) > 0) {
            await this.store.setRoomOnline([roomId], userId, joined);
        }
        this.roomChanged(roomId);
    }
    /** Schedules a coalesced RoomStats for the room. */
    roomChanged(roomId) {
        this.dirtyRooms.add(roomId);
        if (this.statsTimer)
            return;
        this.statsTimer = setTimeout(() => {
            this.statsTimer = undefined;
            void this.flushStats();
        }, this.options.statsEveryMs);
        this.statsTimer.unref();
    }
    async announce(userId, online) {
        const now = new Date();
        if (!online)
            await this.prisma.user
                .update({ where: { id: userId }, data: { lastSeenAt: now } })
                .catch(() => { });
        const rooms = await this.prisma.membership.findMany({
            where: { userId, state: "JOINED" },
            select: { roomId: true },
        });
        const roomIds = rooms.map((r) => r.roomId);
        await this.store.setRoomOnline(roomIds, userId, online);
        const payload = encodeBus({
            case: "presence",
            value: { userId, online, lastSeenTime: online ? undefined : timestampFromDate(now) },
        });
        for (const roomId of roomIds) {
            this.send(channels.room(roomId), payload);
            this.roomChanged(roomId);
        }
    }
    async flushStats() {
        const roomIds = [...this.dirtyRooms];
        this.dirtyRooms.clear();
        if (roomIds.length === 0)
            return;
        try {
            const rooms = await this.prisma.room.findMany({
                where: { id: { in: roomIds } },
                select: { id: true, memberCount: true },
            });
            for (const room of rooms) {
                const stats = await this.store.roomStats(room.id);
                this.send(channels.room(room.id), encodeBus({
                    case: "roomStats",
                    value: {
                        roomId: room.id,
                        onlineMembers: stats.online,
                        peakOnlineMembers: stats.peak,
                        memberCount: room.memberCount,
                    },
                }));
            }
        }
        catch (err) {
            this.logger.warn({ err }, "room stats failed");
        }
    }
    /**
     * Refreshes this instance's entries (re-adding them: a restarted Redis
     * starts empty); after the store missed updates, also re-announces the
     * users online here. One instance sweeps entries lost with a crashed
     * instance.
     */
    async tick() {
        try {
            const entries = [...this.local].map(([connId, userId]) => [userId, connId]);
            const reassert = this.reassert;
            this.reassert = false;
            try {
                await this.store.refresh(entries, this.options.entryTtlMs);
                // Feeds that closed while the refresh ran: do not let it revive them.
                for (const [userId, connId] of entries) {
                    if (!this.local.has(connId))
                        await this.store.remove(userId, connId);
                }
                if (reassert) {
                    for (const userId of new Set(this.local.values())) {
                        if (await this.store.transition(userId, true))
                            await this.announce(userId, true);
                    }
                }
            }
            catch (err) {
                this.reassert ||= reassert;
                throw err;
            }
            if (!(await this.store.tryLock("presence-sweep", this.options.entryTtlMs / 3)))
                return;
            for (const userId of await this.store.onlineUsers())
                await this.settle(userId);
        }
        catch (err) {
            this.degraded(err);
        }
    }
    /** The store answers again after an outage: catch up now rather than at the next tick. */
    storeRestored() {
        this.reassert = true;
        void this.tick();
    }
    /** Stops timers (shutdown). Entries of this instance expire by themselves. */
    close() {
        clearInterval(this.refreshTimer);
        clearTimeout(this.statsTimer);
        for (const t of this.graceTimers)
            clearTimeout(t);
        this.graceTimers.clear();
    }
}
//# sourceMappingURL=presence.js.map
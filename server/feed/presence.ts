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
import type { Logger } from "pino";
import type { PrismaClient } from "../../prisma/generated/client.js";
import { channels, encodeBus } from "./frames.js";
import type { PresenceStore } from "./presence-store.js";

/** Timing of presence. */
export interface PresenceOptions {
  /** Offline is announced this long after the last feed closed. */
  graceMs: number;
  /** A feed entry lives this long unless its instance refreshes it. */
  entryTtlMs: number;
  /** Room stats are sent at most this often per room. */
  statsEveryMs: number;
}

export const defaultPresenceOptions: PresenceOptions = {
  graceMs: 10_000,
  entryTtlMs: 60_000,
  statsEveryMs: 1_000,
};

/** Tracks open feeds and announces presence and room stats. */
export class Presence {
  private readonly local = new Map<string, bigint>();
  private readonly dirtyRooms = new Set<bigint>();
  private readonly graceTimers = new Set<NodeJS.Timeout>();
  private statsTimer: NodeJS.Timeout | undefined;
  private readonly refreshTimer: NodeJS.Timeout;
  /** The store missed updates: re-add this instance's feeds and online states at the next tick. */
  private reassert = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly prisma: PrismaClient,
    private readonly send: (channel: string, payload: Uint8Array) => void,
    private readonly logger: Logger,
    private readonly options: PresenceOptions = defaultPresenceOptions,
  ) {
    this.refreshTimer = setInterval(() => void this.tick(), options.entryTtlMs / 3);
    this.refreshTimer.unref();
  }

  /**
   * Who among the user's fellow members is online now, so a new feed can
   * start with the current picture instead of waiting for changes. While
   * the store is unavailable the picture starts empty (changes still come).
   */
  async onlineCoMembers(userId: bigint): Promise<bigint[]> {
    const rows = await this.prisma.$queryRaw<{ userId: bigint }[]>`
      SELECT DISTINCT m2.user_id AS userId
      FROM memberships m1 JOIN memberships m2 ON m2.room_id = m1.room_id
      WHERE m1.user_id = ${userId} AND m1.state = 'JOINED' AND m2.state = 'JOINED'
        AND m2.user_id <> ${userId}
      LIMIT 5000`;
    try {
      return await this.store.whoIsOnline(rows.map((r) => BigInt(r.userId)));
    } catch (err) {
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
  async connected(userId: bigint): Promise<{ connId: string; openFeeds: number }> {
    const connId = randomUUID();
    this.local.set(connId, userId);
    let openFeeds: number;
    try {
      openFeeds = await this.store.add(userId, connId, this.options.entryTtlMs);
    } catch (err) {
      this.degraded(err);
      return { connId, openFeeds: this.localCount(userId) };
    }
    try {
      if (await this.store.transition(userId, true)) await this.announce(userId, true);
    } catch (err) {
      this.degraded(err);
    }
    return { connId, openFeeds };
  }

  private localCount(userId: bigint): number {
    let n = 0;
    for (const id of this.local.values()) if (id === userId) n++;
    return n;
  }

  /** The store failed: go on locally, and re-assert everything once it answers. */
  private degraded(err: unknown): void {
    if (!this.reassert) this.logger.warn({ err }, "presence store unavailable: continuing locally");
    this.reassert = true;
  }

  /** A feed closed; offline follows after the grace period if it was the last. */
  disconnected(userId: bigint, connId: string, opts: { quiet?: boolean } = {}): void {
    this.local.delete(connId);
    this.store
      .remove(userId, connId)
      .then((left) => {
        if (left > 0 || opts.quiet) return;
        const timer = setTimeout(() => {
          this.graceTimers.delete(timer);
          void this.settle(userId);
        }, this.options.graceMs);
        timer.unref();
        this.graceTimers.add(timer);
      })
      .catch((err: unknown) => this.logger.warn({ err }, "presence update failed"));
  }

  /** Announces offline if the user still has no feed anywhere. */
  private async settle(userId: bigint): Promise<void> {
    try {
      if ((await this.store.count(userId)) > 0) return;
      if (await this.store.transition(userId, false)) await this.announce(userId, false);
    } catch (err) {
      this.logger.warn({ err }, "presence settle failed");
    }
  }

  /** A membership changed: keep the room's online set and stats right. */
  async membershipChanged(roomId: bigint, userId: bigint, joined: boolean): Promise<void> {
    if (!joined || (await this.store.count(userId)) > 0) {
      await this.store.setRoomOnline([roomId], userId, joined);
    }
    this.roomChanged(roomId);
  }

  /** Schedules a coalesced RoomStats for the room. */
  roomChanged(roomId: bigint): void {
    this.dirtyRooms.add(roomId);
    if (this.statsTimer) return;
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      void this.flushStats();
    }, this.options.statsEveryMs);
    this.statsTimer.unref();
  }

  private async announce(userId: bigint, online: boolean): Promise<void> {
    const now = new Date();
    if (!online)
      await this.prisma.user
        .update({ where: { id: userId }, data: { lastSeenAt: now } })
        .catch(() => {});
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

  private async flushStats(): Promise<void> {
    const roomIds = [...this.dirtyRooms];
    this.dirtyRooms.clear();
    if (roomIds.length === 0) return;
    try {
      const rooms = await this.prisma.room.findMany({
        where: { id: { in: roomIds } },
        select: { id: true, memberCount: true },
      });
      for (const room of rooms) {
        const stats = await this.store.roomStats(room.id);
        this.send(
          channels.room(room.id),
          encodeBus({
            case: "roomStats",
            value: {
              roomId: room.id,
              onlineMembers: stats.online,
              peakOnlineMembers: stats.peak,
              memberCount: room.memberCount,
            },
          }),
        );
      }
    } catch (err) {
      this.logger.warn({ err }, "room stats failed");
    }
  }

  /**
   * Refreshes this instance's entries (re-adding them: a restarted Redis
   * starts empty); after the store missed updates, also re-announces the
   * users online here. One instance sweeps entries lost with a crashed
   * instance.
   */
  async tick(): Promise<void> {
    try {
      const entries = [...this.local].map(
        ([connId, userId]) => [userId, connId] as [bigint, string],
      );
      const reassert = this.reassert;
      this.reassert = false;
      try {
        await this.store.refresh(entries, this.options.entryTtlMs);
        // Feeds that closed while the refresh ran: do not let it revive them.
        for (const [userId, connId] of entries) {
          if (!this.local.has(connId)) await this.store.remove(userId, connId);
        }
        if (reassert) {
          for (const userId of new Set(this.local.values())) {
            if (await this.store.transition(userId, true)) await this.announce(userId, true);
          }
        }
      } catch (err) {
        this.reassert ||= reassert;
        throw err;
      }
      if (!(await this.store.tryLock("presence-sweep", this.options.entryTtlMs / 3))) return;
      for (const userId of await this.store.onlineUsers()) await this.settle(userId);
    } catch (err) {
      this.degraded(err);
    }
  }

  /** The store answers again after an outage: catch up now rather than at the next tick. */
  storeRestored(): void {
    this.reassert = true;
    void this.tick();
  }

  /** Stops timers (shutdown). Entries of this instance expire by themselves. */
  close(): void {
    clearInterval(this.refreshTimer);
    clearTimeout(this.statsTimer);
    for (const t of this.graceTimers) clearTimeout(t);
    this.graceTimers.clear();
  }
}

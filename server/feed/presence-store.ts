/**
 * Where presence lives: which feeds each user has open (cluster-wide with
 * Redis), the last published online state, and who is online per room.
 * Connection entries carry an expiry that their instance keeps refreshing,
 * so the feeds of a crashed instance stop counting by themselves.
 */
import type { Redis } from "ioredis";
import type { RedisGate } from "../redis.js";

/** Storage of presence state. */
export interface PresenceStore {
  /** Adds an open feed; returns the user's open feeds after. */
  add(userId: bigint, connId: string, ttlMs: number): Promise<number>;
  /** Removes an open feed; returns the user's open feeds after. */
  remove(userId: bigint, connId: string): Promise<number>;
  /** The user's open feeds that have not expired. */
  count(userId: bigint): Promise<number>;
  /** Keeps this instance's feeds alive for another `ttlMs`. */
  refresh(entries: [bigint, string][], ttlMs: number): Promise<void>;
  /** Sets the published state; true when it changed (one caller wins). */
  transition(userId: bigint, online: boolean): Promise<boolean>;
  /** Adds or removes a user from a room's online set. */
  setRoomOnline(roomIds: bigint[], userId: bigint, online: boolean): Promise<void>;
  /** Online members now, and the highest count seen. */
  roomStats(roomId: bigint): Promise<{ online: number; peak: number }>;
  /** Users whose published state is online. */
  onlineUsers(): Promise<bigint[]>;
  /** Which of these users are online now. */
  whoIsOnline(userIds: bigint[]): Promise<bigint[]>;
  /** True for one caller per `ttlMs` across the cluster (sweeper election). */
  tryLock(name: string, ttlMs: number): Promise<boolean>;
}

/**
 * Redis implementation (sorted sets scored by expiry time). Every call goes
 * through the gate: bounded in time, and refused at once while Redis is
 * down (Presence then goes on locally).
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly gate: RedisGate,
    private readonly prefix: string,
  ) {}

  private run<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    return this.gate.run(fn);
  }

  private conns(userId: bigint) {
    return `${this.prefix}presence:conns:${userId}`;
  }

  async add(userId: bigint, connId: string, ttlMs: number): Promise<number> {
    const key = this.conns(userId);
    const now = Date.now();
    const res = await this.run((r) =>
      r
        .multi()
        .zremrangebyscore(key, "-inf", now)
        .zadd(key, now + ttlMs, connId)
        .pexpire(key, ttlMs * 2)
        .zcard(key)
        .exec(),
    );
    return Number(res?.[3]?.[1] ?? 0);
  }

  async remove(userId: bigint, connId: string): Promise<number> {
    const key = this.conns(userId);
    const res = await this.run((r) =>
      r.multi().zrem(key, connId).zcount(key, Date.now(), "+inf").exec(),
    );
    return Number(res?.[1]?.[1] ?? 0);
  }

  async count(userId: bigint): Promise<number> {
    return this.run((r) => r.zcount(this.conns(userId), Date.now(), "+inf"));
  }

  async refresh(entries: [bigint, string][], ttlMs: number): Promise<void> {
    // Not ZADD XX: after a Redis restart the entries are gone and must come
    // back (Presence removes again what closed meanwhile).
    for (let i = 0; i < entries.length; i += 500) {
      const until = Date.now() + ttlMs;
      await this.run((r) => {
        const m = r.multi();
        for (const [userId, connId] of entries.slice(i, i + 500)) {
          m.zadd(this.conns(userId), until, connId).pexpire(this.conns(userId), ttlMs * 2);
        }
        return m.exec();
      });
    }
  }

  async transition(userId: bigint, online: boolean): Promise<boolean> {
    const key = `${this.prefix}presence:online`;
    const changed = await this.run((r) =>
      online ? r.sadd(key, String(userId)) : r.srem(key, String(userId)),
    );
    return changed === 1;
  }

  async onlineUsers(): Promise<bigint[]> {
    const ids = await this.run((r) => r.smembers(`${this.prefix}presence:online`));
    return ids.map((id) => BigInt(id));
  }

  async whoIsOnline(userIds: bigint[]): Promise<bigint[]> {
    if (userIds.length === 0) return [];
    const flags = await this.run((r) =>
      r.smismember(`${this.prefix}presence:online`, ...userIds.map(String)),
    );
    return userIds.filter((_, i) => flags[i] === 1);
  }

  async tryLock(name: string, ttlMs: number): Promise<boolean> {
    const res = await this.run((r) => r.set(`${this.prefix}lock:${name}`, "1", "PX", ttlMs, "NX"));
    return res === "OK";
  }

  async setRoomOnline(roomIds: bigint[], userId: bigint, online: boolean): Promise<void> {
    if (roomIds.length === 0) return;
    await this.run((r) => {
      const m = r.multi();
      for (const roomId of roomIds) {
        const key = `${this.prefix}presence:room:${roomId}`;
        if (online) m.sadd(key, String(userId));
        else m.srem(key, String(userId));
      }
      return m.exec();
    });
  }

  async roomStats(roomId: bigint): Promise<{ online: number; peak: number }> {
    // Count and peak in one step, so concurrent instances never lower it.
    const res = (await this.run((r) =>
      r.eval(
        `local n = redis.call('SCARD', KEYS[1])
       local p = tonumber(redis.call('GET', KEYS[2]) or '0')
       if n > p then redis.call('SET', KEYS[2], n); p = n end
       return {n, p}`,
        2,
        `${this.prefix}presence:room:${roomId}`,
        `${this.prefix}presence:peak:${roomId}`,
      ),
    )) as [number, number];
    return { online: Number(res[0]), peak: Number(res[1]) };
  }
}

/** Single-instance implementation. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly conns = new Map<bigint, Set<string>>();
  private readonly online = new Set<bigint>();
  private readonly rooms = new Map<bigint, Set<bigint>>();
  private readonly peaks = new Map<bigint, number>();

  async add(userId: bigint, connId: string): Promise<number> {
    let set = this.conns.get(userId);
    if (!set) {
      set = new Set();
      this.conns.set(userId, set);
    }
    set.add(connId);
    return set.size;
  }

  async remove(userId: bigint, connId: string): Promise<number> {
    const set = this.conns.get(userId);
    set?.delete(connId);
    if (set?.size === 0) this.conns.delete(userId);
    return set?.size ?? 0;
  }

  async count(userId: bigint): Promise<number> {
    return this.conns.get(userId)?.size ?? 0;
  }

  async refresh(): Promise<void> {}

  async transition(userId: bigint, online: boolean): Promise<boolean> {
    const was = this.online.has(userId);
    if (online) this.online.add(userId);
    else this.online.delete(userId);
    return was !== online;
  }

  async onlineUsers(): Promise<bigint[]> {
    return [...this.online];
  }

  async whoIsOnline(userIds: bigint[]): Promise<bigint[]> {
    return userIds.filter((id) => this.online.has(id));
  }

  async tryLock(): Promise<boolean> {
    return true;
  }

  async setRoomOnline(roomIds: bigint[], userId: bigint, online: boolean): Promise<void> {
    for (const roomId of roomIds) {
      let set = this.rooms.get(roomId);
      if (!set) {
        set = new Set();
        this.rooms.set(roomId, set);
      }
      if (online) set.add(userId);
      else set.delete(userId);
    }
  }

  async roomStats(roomId: bigint): Promise<{ online: number; peak: number }> {
    const online = this.rooms.get(roomId)?.size ?? 0;
    const peak = Math.max(online, this.peaks.get(roomId) ?? 0);
    this.peaks.set(roomId, peak);
    return { online, peak };
  }
}

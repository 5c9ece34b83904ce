/**
 * Redis implementation (sorted sets scored by expiry time). Every call goes
 * through the gate: bounded in time, and refused at once while Redis is
 * down (Presence then goes on locally).
 */
export class RedisPresenceStore {
    gate;
    prefix;
    constructor(gate, prefix) {
        this.gate = gate;
        this.prefix = prefix;
    }
    run(fn) {
        return this.gate.run(fn);
    }
    conns(userId) {
        return `${this.prefix}presence:conns:${userId}`;
    }
    async add(userId, connId, ttlMs) {
        const key = this.conns(userId);
        const now = Date.now();
        const res = await this.run((r) => r
            .multi()
            .zremrangebyscore(key, "-inf", now)
            .zadd(key, now + ttlMs, connId)
            .pexpire(key, ttlMs * 2)
            .zcard(key)
            .exec());
        return Number(res?.[3]?.[1] ?? 0);
    }
    async remove(userId, connId) {
        const key = this.conns(userId);
        const res = await this.run((r) => r.multi().zrem(key, connId).zcount(key, Date.now(), "+inf").exec());
        return Number(res?.[1]?.[1] ?? 0);
    }
    async count(userId) {
        return this.run((r) => r.zcount(this.conns(userId), Date.now(), "+inf"));
    }
    async refresh(entries, ttlMs) {
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
    async transition(userId, online) {
        const key = `${this.prefix}presence:online`;
        const changed = await this.run((r) => online ? r.sadd(key, String(userId)) : r.srem(key, String(userId)));
        return changed === 1;
    }
    async onlineUsers() {
        const ids = await this.run((r) => r.smembers(`${this.prefix}presence:online`));
        return ids.map((id) => BigInt(id));
    }
    async whoIsOnline(userIds) {
        if (userIds.length === 0)
            return [];
        const flags = await this.run((r) => r.smismember(`${this.prefix}presence:online`, ...userIds.map(String)));
        return userIds.filter((_, i) => flags[i] === 1);
    }
    async tryLock(name, ttlMs) {
        const res = await this.run((r) => r.set(`${this.prefix}lock:${name}`, "1", "PX", ttlMs, "NX"));
        return res === "OK";
    }
    async setRoomOnline(roomIds, userId, online) {
        if (roomIds.length === 0)
            return;
        await this.run((r) => {
            const m = r.multi();
            for (const roomId of roomIds) {
                const key = `${this.prefix}presence:room:${roomId}`;
                if (online)
                    m.sadd(key, String(userId));
                else
                    m.srem(key, String(userId));
            }
            return m.exec();
        });
    }
    async roomStats(roomId) {
        // Count and peak in one step, so concurrent instances never lower it.
        const res = (await this.run((r) => r.eval(`local n = redis.call('SCARD', KEYS[1])
       local p = tonumber(redis.call('GET', KEYS[2]) or '0')
       if n > p then redis.call('SET', KEYS[2], n); p = n end
       return {n, p}`, 2, `${this.prefix}presence:room:${roomId}`, `${this.prefix}presence:peak:${roomId}`)));
        return { online: Number(res[0]), peak: Number(res[1]) };
    }
}
/** Single-instance implementation. */
export class MemoryPresenceStore {
    conns = new Map();
    online = new Set();
    rooms = new Map();
    peaks = new Map();
    async add(userId, connId) {
        let set = this.conns.get(userId);
        if (!set) {
            set = new Set();
            this.conns.set(userId, set);
        }
        set.add(connId);
        return set.size;
    }
    async remove(userId, connId) {
        const set = this.conns.get(userId);
        set?.delete(connId);
        if (set?.size === 0)
            this.conns.delete(userId);
        return set?.size ?? 0;
    }
    async count(userId) {
        return this.conns.get(userId)?.size ?? 0;
    }
    async refresh() { }
    async transition(userId, online) {
        const was = this.online.has(userId);
        if (online)
            this.online.add(userId);
        else
            this.online.delete(userId);
        return was !== online;
    }
    async onlineUsers() {
        return [...this.online];
    }
    async whoIsOnline(userIds) {
        return userIds.filter((id) => this.online.has(id));
    }
    async tryLock() {
        return true;
    }
    async setRoomOnline(roomIds, userId, online) {
        for (const roomId of roomIds) {
            let set = this.rooms.get(roomId);
            if (!set) {
                set = new Set();
                this.rooms.set(roomId, set);
            }
            if (online)
                set.add(userId);
            else
                set.delete(userId);
        }
    }
    async roomStats(roomId) {
        const online = this.rooms.get(roomId)?.size ?? 0;
        const peak = Math.max(online, this.peaks.get(roomId) ?? 0);
        this.peaks.set(roomId, peak);
        return { online, peak };
    }
}
//# sourceMappingURL=presence-store.js.map
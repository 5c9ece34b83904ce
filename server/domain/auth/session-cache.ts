/**
 * Short-lived cache of token hash -> session, in front of MySQL. With Redis
 * it is shared by every instance, so a revocation on one instance is seen by
 * all; without Redis (one instance) an in-process map does the same job.
 *
 * Revocation leaves a tombstone, not a hole. A lookup that read the session
 * from MySQL just before it was revoked would otherwise put it back into
 * the cache as valid for a whole TTL, on every instance. Lookups therefore
 * only ever *add* an entry (SET NX) and treat a tombstone as revoked;
 * revocation overwrites whatever is there with a tombstone that outlives
 * any entry written before it. Whichever order the two race in, the token
 * stays revoked.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { CachedSessionSchema } from "../../../gen/chat/internal/v1/session_pb.js";
import type { RedisGate } from "../../platform/redis.js";
import type { Caller } from "./caller.js";

/** A cached session: who the token belongs to and until when. */
export interface CachedSession extends Caller {
  expiresAt: Date;
}

/** What the cache knows of a token. */
export type CacheLookup = CachedSession | "revoked" | undefined;

/** Where verified tokens are remembered for a short while. */
export interface SessionCache {
  /** The cached session, "revoked" for a tombstone, undefined when unknown. */
  get(tokenHash: Buffer): Promise<CacheLookup>;
  /**
   * Adds a session read from MySQL unless the key is taken. Returns false
   * when a tombstone is there: the session was revoked meanwhile.
   */
  add(tokenHash: Buffer, session: CachedSession, ttlMs: number): Promise<boolean>;
  /** Replaces entries with tombstones living `ttlMs`. */
  revoke(tokenHashes: Buffer[], ttlMs: number): Promise<void>;
}

/** The value of a tombstone (never a valid CachedSession encoding we write). */
const tombstone = Buffer.from("revoked");

/**
 * Redis-backed cache; values are chat.internal.v1.CachedSession messages.
 * Every call goes through the gate: while Redis is down lookups go to
 * MySQL at once, and tombstones that could not be written are written as
 * soon as Redis answers again.
 */
export class RedisSessionCache implements SessionCache {
  /** Tombstones owed to Redis: revocations made while it was down. */
  private readonly owed = new Map<string, { hash: Buffer; until: number }>();

  constructor(
    private readonly gate: RedisGate,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    gate.onChange((up) => {
      if (up) void this.payDebts();
    });
  }

  private key(hash: Buffer): string {
    return `${this.prefix}session:${hash.toString("hex")}`;
  }

  async get(tokenHash: Buffer): Promise<CacheLookup> {
    if (!this.gate.available)
      return this.owed.has(tokenHash.toString("hex")) ? "revoked" : undefined;
    try {
      const raw = await this.gate.run((r) => r.getBuffer(this.key(tokenHash)));
      if (!raw) return undefined;
      if (raw.equals(tombstone)) return "revoked";
      const m = fromBinary(CachedSessionSchema, raw);
      if (!m.expireTime) return undefined;
      return { userId: m.userId, sessionId: m.sessionId, expiresAt: timestampDate(m.expireTime) };
    } catch (err) {
      // The cache is an optimisation: fall back to MySQL when Redis fails.
      this.logger.debug({ err }, "session cache read failed");
      return undefined;
    }
  }

  async add(tokenHash: Buffer, s: CachedSession, ttlMs: number): Promise<boolean> {
    if (this.owed.has(tokenHash.toString("hex"))) return false;
    if (!this.gate.available) return true;
    const value = Buffer.from(
      toBinary(
        CachedSessionSchema,
        create(CachedSessionSchema, {
          userId: s.userId,
          sessionId: s.sessionId,
          expireTime: timestampFromDate(s.expiresAt),
        }),
      ),
    );
    const key = this.key(tokenHash);
    try {
      const set = await this.gate.run((r) =>
        r.set(key, value, "PX", Math.max(1, Math.floor(ttlMs)), "NX"),
      );
      if (set === "OK") return true;
      const there = await this.gate.run((r) => r.getBuffer(key));
      return !there?.equals(tombstone);
    } catch (err) {
      this.logger.debug({ err }, "session cache write failed");
      return true;
    }
  }

  async revoke(tokenHashes: Buffer[], ttlMs: number): Promise<void> {
    if (tokenHashes.length === 0) return;
    const until = Date.now() + ttlMs;
    // Owed until Redis has them: lookups here honour them meanwhile.
    for (const hash of tokenHashes) this.owed.set(hash.toString("hex"), { hash, until });
    await this.payDebts();
  }

  private async payDebts(): Promise<void> {
    const now = Date.now();
    for (const [k, d] of this.owed) if (d.until <= now) this.owed.delete(k);
    if (this.owed.size === 0 || !this.gate.available) return;
    const debts = [...this.owed];
    try {
      await this.gate.run((r) => {
        const m = r.multi();
        for (const [, d] of debts)
          m.set(this.key(d.hash), tombstone, "PX", Math.max(1, d.until - now));
        return m.exec();
      });
      for (const [k, d] of debts) if (this.owed.get(k) === d) this.owed.delete(k);
    } catch (err) {
      this.logger.warn({ err, owed: this.owed.size }, "revocations not yet in the session cache");
    }
  }
}

/** In-process cache for a single instance, bounded in size. */
export class MemorySessionCache implements SessionCache {
  private readonly entries = new Map<string, { value: CachedSession | "revoked"; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  private live(key: string): CachedSession | "revoked" | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  async get(tokenHash: Buffer): Promise<CacheLookup> {
    return this.live(tokenHash.toString("hex"));
  }

  async add(tokenHash: Buffer, session: CachedSession, ttlMs: number): Promise<boolean> {
    const key = tokenHash.toString("hex");
    const there = this.live(key);
    if (there === "revoked") return false;
    if (there) return true;
    if (this.entries.size >= this.maxEntries) {
      // Drop the oldest valid entry (Map iterates in insertion order);
      // tombstones stay until they expire.
      for (const [k, e] of this.entries) {
        if (e.value !== "revoked") {
          this.entries.delete(k);
          break;
        }
      }
    }
    this.entries.set(key, { value: session, until: Date.now() + ttlMs });
    return true;
  }

  async revoke(tokenHashes: Buffer[], ttlMs: number): Promise<void> {
    for (const h of tokenHashes) {
      this.entries.set(h.toString("hex"), { value: "revoked", until: Date.now() + ttlMs });
    }
  }
}

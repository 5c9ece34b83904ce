/**
 * Short-lived cache of token hash -> session, in front of MySQL. With Redis
 * it is shared by every instance, so a revocation on one instance is seen by
 * all; without Redis (one instance) an in-process map does the same job.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { CachedSessionSchema } from "../../gen/chat/internal/v1/session_pb.js";
import type { Caller } from "../context.js";

/** A cached session: who the token belongs to and until when. */
export interface CachedSession extends Caller {
  expiresAt: Date;
}

/** Where verified tokens are remembered for a short while. */
export interface SessionCache {
  get(tokenHash: Buffer): Promise<CachedSession | undefined>;
  set(tokenHash: Buffer, session: CachedSession, ttlMs: number): Promise<void>;
  delete(tokenHashes: Buffer[]): Promise<void>;
}

/** Redis-backed cache; values are chat.internal.v1.CachedSession messages. */
export class RedisSessionCache implements SessionCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  private key(hash: Buffer): string {
    return `${this.prefix}session:${hash.toString("hex")}`;
  }

  async get(tokenHash: Buffer): Promise<CachedSession | undefined> {
    try {
      const raw = await this.redis.getBuffer(this.key(tokenHash));
      if (!raw) return undefined;
      const m = fromBinary(CachedSessionSchema, raw);
      if (!m.expireTime) return undefined;
      return { userId: m.userId, sessionId: m.sessionId, expiresAt: timestampDate(m.expireTime) };
    } catch (err) {
      // The cache is an optimisation: fall back to MySQL when Redis fails.
      this.logger.warn({ err }, "session cache read failed");
      return undefined;
    }
  }

  async set(tokenHash: Buffer, s: CachedSession, ttlMs: number): Promise<void> {
    const value = toBinary(
      CachedSessionSchema,
      create(CachedSessionSchema, {
        userId: s.userId,
        sessionId: s.sessionId,
        expireTime: timestampFromDate(s.expiresAt),
      }),
    );
    try {
      await this.redis.set(
        this.key(tokenHash),
        Buffer.from(value),
        "PX",
        Math.max(1, Math.floor(ttlMs)),
      );
    } catch (err) {
      this.logger.warn({ err }, "session cache write failed");
    }
  }

  async delete(tokenHashes: Buffer[]): Promise<void> {
    if (tokenHashes.length === 0) return;
    // Revocation must reach the cache; an error here is reported to the
    // caller rather than leaving a revoked token usable until the TTL ends.
    await this.redis.del(...tokenHashes.map((h) => this.key(h)));
  }
}

/** In-process cache for a single instance, bounded in size. */
export class MemorySessionCache implements SessionCache {
  private readonly entries = new Map<string, { session: CachedSession; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  async get(tokenHash: Buffer): Promise<CachedSession | undefined> {
    const key = tokenHash.toString("hex");
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.session;
  }

  async set(tokenHash: Buffer, session: CachedSession, ttlMs: number): Promise<void> {
    if (this.entries.size >= this.maxEntries) {
      // Drop the oldest insertion; Map iterates in insertion order.
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
    this.entries.set(tokenHash.toString("hex"), { session, until: Date.now() + ttlMs });
  }

  async delete(tokenHashes: Buffer[]): Promise<void> {
    for (const h of tokenHashes) this.entries.delete(h.toString("hex"));
  }
}

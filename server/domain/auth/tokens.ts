/**
 * Access tokens: 256 random bits the client holds, of which the server keeps
 * only the SHA-256 hash. A leaked database therefore yields no usable token.
 * Tokens expire and are revocable one by one or all at once.
 */
import { createHash, randomBytes } from "node:crypto";
import { tuning } from "../../config.js";
import type { Clock } from "../../platform/clock.js";
import type { PrismaClient } from "../../store/prisma.js";
import type { Caller } from "./caller.js";
import type { SessionCache } from "./session-cache.js";

/** Prefix that makes our tokens recognisable (e.g. by secret scanners). */
const tokenPrefix = "ct_";
/** Longest time a verified token is served from the cache. */
const cacheTtlMs = tuning.tokens.cacheTtlMs;
/**
 * How long a revocation's tombstone stays in the cache: longer than any
 * entry written before it, and than any lookup still in flight.
 */
const tombstoneTtlMs = 3 * cacheTtlMs;

/** A freshly issued token. */
export interface IssuedToken {
  token: string;
  sessionId: bigint;
  expiresAt: Date;
}

/** SHA-256 of a token string. */
export function hashToken(token: string): Buffer<ArrayBuffer> {
  return createHash("sha256").update(token).digest() as Buffer<ArrayBuffer>;
}

/** Issues, verifies and revokes access tokens. */
export class TokenService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly cache: SessionCache,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    /**
     * Told after sessions are revoked (`"all"`: every session of the user),
     * so open streams made with them can end at once.
     */
    private readonly onRevoked: (userId: bigint, sessionIds: bigint[] | "all") => void = () => {},
  ) {}

  /** Creates a session for a user and returns its token (`ttlSeconds`: bots' long-lived ones). */
  async issue(
    userId: bigint,
    deviceName: string,
    ttlSeconds = this.ttlSeconds,
  ): Promise<IssuedToken> {
    const token = tokenPrefix + randomBytes(32).toString("base64url");
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const session = await this.prisma.session.create({
      data: {
        userId,
        tokenHash: hashToken(token),
        deviceName,
        createdAt: now,
        lastUsedAt: now,
        expiresAt,
      },
      select: { id: true },
    });
    return { token, sessionId: session.id, expiresAt };
  }

  /** The caller a token belongs to, or undefined if it is not valid now. */
  async verify(token: string): Promise<Caller | undefined> {
    if (!token.startsWith(tokenPrefix) || token.length > 100) return undefined;
    const hash = hashToken(token);
    const now = this.clock.now();
    const cached = await this.cache.get(hash);
    if (cached === "revoked") return undefined;
    if (cached) {
      return cached.expiresAt > now
        ? { userId: cached.userId, sessionId: cached.sessionId, expiresAt: cached.expiresAt }
        : undefined;
    }
    // Concurrent misses of one token (a device reconnecting many streams,
    // a storm after a restart) share one database read.
    const key = hash.toString("hex");
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(hash, now).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Cache misses in progress, by token hash. */
  private readonly inflight = new Map<string, Promise<Caller | undefined>>();

  private async load(hash: Buffer<ArrayBuffer>, now: Date): Promise<Caller | undefined> {
    const row = await this.prisma.session.findUnique({
      where: { tokenHash: hash },
      select: {
        id: true,
        userId: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
        user: { select: { disabledAt: true } },
      },
    });
    if (!row || row.revokedAt !== null || row.expiresAt <= now) return undefined;
    // A disabled account's sessions are revoked; one issued by a login racing with the
    // disabling is refused here.
    if (row.user.disabledAt !== null) return undefined;
    // Cache misses happen at most once per TTL per token, which also bounds
    // how often last_used_at is written.
    if (now.getTime() - row.lastUsedAt.getTime() > 60_000) {
      await this.prisma.session.update({ where: { id: row.id }, data: { lastUsedAt: now } });
    }
    const ttl = Math.min(cacheTtlMs, row.expiresAt.getTime() - now.getTime());
    const caller = { userId: row.userId, sessionId: row.id, expiresAt: row.expiresAt };
    // Revoked after our read: the tombstone wins, and this lookup fails too.
    if (!(await this.cache.add(hash, caller, ttl))) return undefined;
    return caller;
  }

  /** Revokes one session. */
  async revoke(sessionId: bigint): Promise<void> {
    const now = this.clock.now();
    const row = await this.prisma.session.update({
      where: { id: sessionId },
      data: { revokedAt: now },
      select: { tokenHash: true, userId: true },
    });
    await this.cache.revoke([Buffer.from(row.tokenHash)], tombstoneTtlMs);
    this.onRevoked(row.userId, [sessionId]);
  }

  /** Revokes every live session of a user; returns how many. */
  async revokeAll(userId: bigint): Promise<number> {
    const now = this.clock.now();
    const live = await this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: now } },
      select: { id: true, tokenHash: true },
    });
    if (live.length === 0) return 0;
    const { count } = await this.prisma.session.updateMany({
      where: { id: { in: live.map((s) => s.id) }, revokedAt: null },
      data: { revokedAt: now },
    });
    await this.cache.revoke(
      live.map((s) => Buffer.from(s.tokenHash)),
      tombstoneTtlMs,
    );
    this.onRevoked(userId, "all");
    return count;
  }
}

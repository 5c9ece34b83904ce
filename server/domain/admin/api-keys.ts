/**
 * Operators' API keys for AdminService: 256 random bits the operator holds,
 * of which the server keeps only the SHA-256 hash (a leaked database yields
 * no usable key). Each key has a scope: READ_ONLY keys may only call methods
 * without side effects. Keys are created, listed and revoked with
 * `npm run admin -- keys ...` (server/admin-cli.ts). Admin calls are rare,
 * so every call reads its key from the database: a revocation takes effect
 * on every instance at once, with no cache to expire.
 */
import { createHash, randomBytes } from "node:crypto";
import type { $Enums, PrismaClient } from "../../store/prisma.js";

/** Prefix that makes API keys recognisable, and distinct from access tokens (`ct_`). */
export const apiKeyPrefix = "ak_";

/** Scope of a key. */
export type ApiKeyScope = $Enums.ApiKeyScope;

/** The operator behind an admin call. */
export interface AdminCaller {
  keyId: bigint;
  name: string;
  scope: ApiKeyScope;
}

/** A key as listed (never the key itself). */
export interface ApiKeyInfo {
  id: bigint;
  name: string;
  scope: ApiKeyScope;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** How often last_used_at is written at most per key. */
const touchEveryMs = 60_000;

function hashKey(key: string): Buffer<ArrayBuffer> {
  return createHash("sha256").update(key).digest() as Buffer<ArrayBuffer>;
}

/** Creates, lists, revokes and verifies API keys. */
export class ApiKeys {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates a key; the returned `key` is shown once and never stored. */
  async create(name: string, scope: ApiKeyScope): Promise<{ id: bigint; key: string }> {
    const key = apiKeyPrefix + randomBytes(32).toString("base64url");
    const row = await this.prisma.apiKey.create({
      data: { name, scope, keyHash: hashKey(key) },
      select: { id: true },
    });
    return { id: row.id, key };
  }

  /** Every key, newest first. */
  list(): Promise<ApiKeyInfo[]> {
    return this.prisma.apiKey.findMany({
      orderBy: { id: "desc" },
      select: {
        id: true,
        name: true,
        scope: true,
        createdAt: true,
        lastUsedAt: true,
        revokedAt: true,
      },
    });
  }

  /** Revokes the live keys with this id or name; returns how many. */
  async revoke(idOrName: string, now = new Date()): Promise<number> {
    const where = /^[0-9]+$/.test(idOrName) ? { id: BigInt(idOrName) } : { name: idOrName };
    const { count } = await this.prisma.apiKey.updateMany({
      where: { ...where, revokedAt: null },
      data: { revokedAt: now },
    });
    return count;
  }

  /** The operator a key belongs to, or undefined when it is unknown or revoked. */
  async verify(key: string, now = new Date()): Promise<AdminCaller | undefined> {
    if (!key.startsWith(apiKeyPrefix) || key.length > 100) return undefined;
    const row = await this.prisma.apiKey.findUnique({
      where: { keyHash: hashKey(key) },
      select: { id: true, name: true, scope: true, revokedAt: true, lastUsedAt: true },
    });
    if (!row || row.revokedAt) return undefined;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > touchEveryMs) {
      await this.prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } });
    }
    return { keyId: row.id, name: row.name, scope: row.scope };
  }
}

/**
 * The audit log of AdminService: one row per call, allowed or refused,
 * with the key, the method, what it acted on and how it ended.
 */
import type { PrismaClient } from "../../store/prisma.js";

/** One admin call. */
export interface AuditRecord {
  keyId: bigint | null;
  keyName: string;
  method: string;
  target: string;
  /** "ok" or the error code in snake case. */
  result: string;
}

/** A stored entry. */
export interface AuditRow extends AuditRecord {
  id: bigint;
  createdAt: Date;
}

/** Writes and pages the audit table. */
export class AuditLog {
  constructor(private readonly prisma: PrismaClient) {}

  /** Appends one record. */
  async record(r: AuditRecord, now = new Date()): Promise<void> {
    await this.prisma.adminAudit.create({
      data: {
        keyId: r.keyId,
        keyName: r.keyName.slice(0, 64),
        method: r.method.slice(0, 64),
        target: r.target.slice(0, 255),
        result: r.result.slice(0, 32),
        createdAt: now,
      },
    });
  }

  /** Entries with an id below `beforeId` (0: from the newest), newest first. */
  list(beforeId: bigint, limit: number): Promise<AuditRow[]> {
    return this.prisma.adminAudit.findMany({
      where: beforeId > 0n ? { id: { lt: beforeId } } : {},
      orderBy: { id: "desc" },
      take: limit,
    });
  }
}

/** What the AdminService parts share: dependencies and paging. */
import type { ApiKeys } from "../../../domain/admin/api-keys.js";
import type { AuditLog } from "../../../domain/admin/audit-log.js";
import type { TokenService } from "../../../domain/auth/tokens.js";
import type { RoomWriter } from "../../../domain/room-writer.js";
import type { Clock } from "../../../platform/clock.js";
import type { ClusterStats } from "../../../realtime/cluster-stats.js";
import type { FeedHub } from "../../../realtime/hub/feed-hub.js";
import type { PresenceStore } from "../../../realtime/presence/presence-store.js";
import type { PrismaClient } from "../../../store/prisma.js";

/** What AdminService needs. */
export interface AdminDeps {
  prisma: PrismaClient;
  writer: RoomWriter;
  tokens: TokenService;
  feed: FeedHub;
  presence: PresenceStore;
  stats: ClusterStats;
  keys: ApiKeys;
  audit: AuditLog;
  clock: Clock;
}

/** A page size: `asked`, or `fallback` when 0, capped at `max`. */
export function pageSize(asked: number, fallback: number, max: number): number {
  return Math.min(asked === 0 ? fallback : asked, max);
}

/** AdminService: statistics of every instance and the cluster; the audit log. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  AuditEntrySchema,
  GetStatsResponseSchema,
  type InstanceStats,
  InstanceStatsSchema,
  ListAuditLogResponseSchema,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { type InstanceFigures, sumFigures } from "../../../realtime/cluster-stats.js";
import { type AdminDeps, pageSize } from "./shared.js";

/** Online user ids listed at most by GetStats. */
const onlineListMax = 100;

function toStats(f: InstanceFigures): InstanceStats {
  return create(InstanceStatsSchema, {
    instanceId: f.instanceId,
    streamsByProtocol: f.streamsByProtocol,
    connections: f.connections,
    messagesPerSecond: f.messagesPerSecond,
    deliveriesPerSecond: f.deliveriesPerSecond,
    localUsers: f.localUsers,
    reportTime: timestampFromDate(new Date(f.reportedAt)),
  });
}

/** getStats, listAuditLog. */
export function adminStatsMethods({
  stats,
  presence,
  audit,
}: AdminDeps): Pick<ServiceImpl<typeof AdminService>, "getStats" | "listAuditLog"> {
  return {
    async getStats() {
      const [instances, online] = await Promise.all([
        stats.instances(),
        presence.onlineUsers().catch(() => [] as bigint[]),
      ]);
      return create(GetStatsResponseSchema, {
        instances: instances.map(toStats),
        cluster: toStats(sumFigures(instances)),
        onlineUsers: online.length,
        onlineUserIds: online.slice(0, onlineListMax),
      });
    },

    async listAuditLog(req) {
      const limit = pageSize(req.pageSize, 50, 500);
      const rows = await audit.list(req.beforeId, limit + 1);
      const page = rows.slice(0, limit);
      return create(ListAuditLogResponseSchema, {
        entries: page.map((r) =>
          create(AuditEntrySchema, {
            id: r.id,
            keyId: r.keyId ?? 0n,
            keyName: r.keyName,
            method: r.method,
            target: r.target,
            result: r.result,
            time: timestampFromDate(r.createdAt),
          }),
        ),
        nextBeforeId: rows.length > limit ? (page[page.length - 1]?.id ?? 0n) : 0n,
      });
    },
  };
}

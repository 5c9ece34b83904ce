/**
 * AdminService (chat.admin.v1): the operator's API, split by concern under
 * services/admin/. API keys, scopes and the audit log are handled before
 * any of it runs (interceptors/admin.ts).
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/chat/admin/v1/admin_pb.js";
import { adminBotMethods } from "./admin/bots.js";
import { adminBroadcastMethods } from "./admin/broadcasts.js";
import { adminHistoryMethods } from "./admin/history.js";
import { adminRoomMethods } from "./admin/rooms.js";
import type { AdminDeps } from "./admin/shared.js";
import { adminStatsMethods } from "./admin/stats.js";
import { adminUserMethods } from "./admin/users.js";
import { adminWebhookMethods } from "./admin/webhooks.js";

export type { AdminDeps } from "./admin/shared.js";

/** Creates the AdminService implementation. */
export function createAdminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    ...adminRoomMethods(deps),
    ...adminUserMethods(deps),
    ...adminBotMethods(deps),
    ...adminHistoryMethods(deps),
    ...adminBroadcastMethods(deps),
    ...adminStatsMethods(deps),
    ...adminWebhookMethods(deps),
  };
}

/** AdminService in tests: API keys made directly in the env's database, and clients carrying them. */
import type { Client, Transport } from "@connectrpc/connect";
import { AdminService } from "../../gen/chat/admin/v1/admin_pb.js";
import { type ApiKeyScope, ApiKeys } from "../../server/domain/admin/api-keys.js";
import type { PrismaClient } from "../../server/store/prisma.js";
import { authed } from "./clients.js";

/** A new API key of `scope` (FULL by default), named `name`. */
export async function newApiKey(
  prisma: PrismaClient,
  name = "ops",
  scope: ApiKeyScope = "FULL",
): Promise<{ id: bigint; key: string }> {
  return new ApiKeys(prisma).create(name, scope);
}

/** An AdminService client that sends `key` on every call. */
export function adminClient(transport: Transport, key: string): Client<typeof AdminService> {
  return authed(AdminService, transport, key);
}

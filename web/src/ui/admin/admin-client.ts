/**
 * The admin page's client: AdminService on the page's origin with the API
 * key the operator typed, kept in sessionStorage (this tab only, gone when
 * it closes; never in localStorage).
 */
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createWebTransport } from "@protochat/sdk/web";
import { AdminService } from "../../../../gen/chat/admin/v1/admin_pb.js";

const storageKey = "protochat.adminKey";

/** The key of this tab, if one was entered. */
export function loadAdminKey(): string | undefined {
  return globalThis.sessionStorage?.getItem(storageKey) ?? undefined;
}

/** Keeps the key for this tab. */
export function saveAdminKey(key: string): void {
  globalThis.sessionStorage?.setItem(storageKey, key);
}

/** Forgets the key. */
export function clearAdminKey(): void {
  globalThis.sessionStorage?.removeItem(storageKey);
}

/** An AdminService client sending `key()` on every call. */
export function adminClientOf(
  key: () => string | undefined,
  transport?: Transport,
): Client<typeof AdminService> {
  const withKey: Interceptor = (next) => (req) => {
    const k = key();
    if (k) req.header.set("Authorization", `Bearer ${k}`);
    return next(req);
  };
  return createClient(AdminService, transport ?? createWebTransport({ interceptors: [withKey] }));
}

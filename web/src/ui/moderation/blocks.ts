/**
 * The signed-in user's block list, held by the client: the server does not
 * rewrite messages per reader (a room's feed is encoded once for everyone),
 * so the client collapses messages whose sender is in this list. Loaded
 * once per signed-in user (ListBlockedUsers) and kept by BlockUser/UnblockUser.
 */
import type { Transport } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useEffect, useSyncExternalStore } from "react";
import type { Id } from "../../state/chat-state.js";
import { useChat } from "../hooks.js";
import { type Moderation, useModeration } from "./services.js";

const none: ReadonlySet<Id> = new Set();
let blocked: ReadonlySet<Id> = none;
/**
 * Whose list `blocked` is, and over which transport (another user signing in,
 * or another app instance on its own transport, starts over).
 */
let owner: Id | undefined;
let ownerTransport: Transport | undefined;
let state: "idle" | "loading" | "loaded" = "idle";
const listeners = new Set<() => void>();

function publish(next: ReadonlySet<Id>): void {
  blocked = next;
  for (const l of listeners) l();
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
}

/** Loads the list the first time any component asks (a failure leaves it empty, retried next mount). */
function ensureLoaded(m: Moderation, transport: Transport, me: Id | undefined): void {
  if (me !== owner || transport !== ownerTransport) {
    owner = me;
    ownerTransport = transport;
    state = "idle";
    blocked = none;
  }
  if (state !== "idle" || me === undefined) return;
  state = "loading";
  m.listBlockedUsers({}).then(
    (res) => {
      if (owner !== me || ownerTransport !== transport) return;
      state = "loaded";
      publish(new Set(res.blocked.map((b) => (b.user?.id ?? 0n).toString())));
    },
    () => {
      if (owner === me && ownerTransport === transport) state = "idle";
    },
  );
}

/** The ids of the users the signed-in user blocked. */
export function useBlocked(): ReadonlySet<Id> {
  const m = useModeration();
  const transport = useTransport();
  const me = useChat((s) => s.me?.id.toString());
  useEffect(() => ensureLoaded(m, transport, me), [m, transport, me]);
  const current = useSyncExternalStore(
    subscribe,
    () => blocked,
    () => blocked,
  );
  return owner === me && ownerTransport === transport ? current : none;
}

/** Blocks or unblocks `userId`, then updates the list every component reads. */
export async function setBlocked(m: Moderation, userId: bigint, block: boolean): Promise<void> {
  if (block) await m.blockUser({ userId });
  else await m.unblockUser({ userId });
  const next = new Set(blocked);
  if (block) next.add(userId.toString());
  else next.delete(userId.toString());
  publish(next);
}

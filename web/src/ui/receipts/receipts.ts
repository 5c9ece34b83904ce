/**
 * Who has read how far, per room: ListReadReceipts when a room is shown
 * (and again after every feed `ready`), then the feed's `read_receipt`
 * events. Positions only move forward.
 */
import { useEffect, useSyncExternalStore } from "react";
import type { Id } from "../../state/chat-state.js";
import { useController } from "../hooks.js";
import { useServices } from "../search/services.js";

/** Room id → user id → last read sequence. */
type Receipts = Record<Id, Record<Id, bigint>>;

let receipts: Receipts = {};
const listeners = new Set<() => void>();

export function receiptSeen(roomId: Id, userId: Id, seq: bigint, replace = false): void {
  const room = receipts[roomId] ?? {};
  const have = room[userId];
  if (!replace && have !== undefined && have >= seq) return;
  receipts = { ...receipts, [roomId]: { ...room, [userId]: seq } };
  for (const l of listeners) l();
}

function roomListed(roomId: Id, list: { userId: bigint; lastReadSeq: bigint }[]): void {
  const room: Record<Id, bigint> = {};
  for (const r of list) room[r.userId.toString()] = r.lastReadSeq;
  receipts = { ...receipts, [roomId]: room };
  for (const l of listeners) l();
}

export function useReceipts(roomId: Id): Record<Id, bigint> | undefined {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => receipts[roomId],
    () => receipts[roomId],
  );
}

/** Loads and follows the receipts of one room while it is shown. */
export function useFollowReceipts(roomId: Id): void {
  const c = useController();
  const s = useServices();
  useEffect(() => {
    let stopped = false;
    const load = () => {
      s.receipts
        .listReadReceipts({ roomId: BigInt(roomId) })
        .then((res) => {
          if (!stopped) roomListed(roomId, res.receipts);
        })
        .catch(() => {});
    };
    const on = (ev: import("@protochat/sdk").FeedEvent) => {
      const e = ev.event;
      if (e.case === "readReceipt" && e.value.roomId.toString() === roomId) {
        receiptSeen(roomId, e.value.userId.toString(), e.value.lastReadSeq);
      } else if (e.case === "ready") {
        load();
      }
    };
    c.feedListeners.add(on);
    load();
    return () => {
      stopped = true;
      c.feedListeners.delete(on);
    };
  }, [c, s, roomId]);
}

/**
 * Where each reader's avatar goes: under the newest loaded message they
 * have read (message sequence → reader ids), leaving out oneself.
 */
export function seenAt(
  messages: readonly { seq: bigint }[],
  readers: Record<Id, bigint> | undefined,
  me: Id | undefined,
): Map<bigint, Id[]> {
  const out = new Map<bigint, Id[]>();
  if (!readers || messages.length === 0) return out;
  for (const [user, upTo] of Object.entries(readers)) {
    if (user === me) continue;
    // Binary search: the last message with seq <= upTo.
    let lo = 0;
    let hi = messages.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((messages[mid]?.seq ?? 0n) <= upTo) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const seq = messages[at]?.seq;
    if (seq === undefined) continue;
    const list = out.get(seq) ?? [];
    list.push(user);
    out.set(seq, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

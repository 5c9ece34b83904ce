/**
 * App-wide navigation state the room views share: whether the search panel
 * is open, and which message to bring into view (and highlight) next.
 */
import { useSyncExternalStore } from "react";
import { goToRoom } from "../hooks.js";

export interface NavState {
  searchOpen: boolean;
  /** The message to show: room id and sequence; `n` makes repeats distinct. */
  focus: { roomId: string; seq: bigint; n: number } | undefined;
}

let state: NavState = { searchOpen: false, focus: undefined };
const listeners = new Set<() => void>();
let count = 0;

function set(next: Partial<NavState>): void {
  state = { ...state, ...next };
  for (const l of listeners) l();
}

export function useNav(): NavState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
    () => state,
  );
}

export function setSearchOpen(open: boolean): void {
  set({ searchOpen: open });
}

/** Opens a room at one message. */
export function openAt(roomId: string, seq: bigint): void {
  count++;
  set({ focus: { roomId, seq, n: count } });
  goToRoom(roomId);
}

export function focusDone(n: number): void {
  if (state.focus?.n === n) set({ focus: undefined });
}

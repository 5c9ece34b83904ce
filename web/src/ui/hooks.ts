/** React access to the chat controller and its state. */
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from "react";
import type { ChatState } from "../state/chat-state.js";
import type { ChatController } from "../state/controller.js";

export const ChatContext = createContext<ChatController | undefined>(undefined);

export function useController(): ChatController {
  const c = useContext(ChatContext);
  if (!c) throw new Error("useController outside ChatContext");
  return c;
}

/** A slice of the chat state; re-renders when it changes (by identity). */
export function useChat<T>(select: (s: ChatState) => T): T {
  const c = useController();
  return useSyncExternalStore(
    c.store.subscribe,
    () => select(c.store.getState()),
    () => select(c.store.getState()),
  );
}

function roomInHash(): string | undefined {
  return /^#\/room\/(\d+)/.exec(globalThis.location?.hash ?? "")?.[1];
}

/** The location hash as a route: "#/room/12" → { roomId: "12" }. */
export function useHashRoute(): { roomId: string | undefined } {
  const [roomId, setRoomId] = useState(roomInHash);
  useEffect(() => {
    const on = () => setRoomId(roomInHash());
    globalThis.addEventListener("hashchange", on);
    return () => globalThis.removeEventListener("hashchange", on);
  }, []);
  return { roomId };
}

export function goToRoom(id: string | undefined): void {
  globalThis.location.hash = id ? `#/room/${id}` : "#/";
}

/** Re-renders every `ms` (for relative times). */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** True when a media query matches (e.g. phone width). */
export function useMedia(query: string): boolean {
  const get = () => globalThis.matchMedia?.(query).matches ?? false;
  const [matches, setMatches] = useState(get);
  useEffect(() => {
    const mq = globalThis.matchMedia?.(query);
    if (!mq) return;
    const on = () => setMatches(mq.matches);
    mq.addEventListener("change", on);
    on();
    return () => mq.removeEventListener("change", on);
  }, [query]);
  return matches;
}

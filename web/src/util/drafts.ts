/**
 * Unsent text per room, kept in sessionStorage (this tab only, gone when
 * it closes); scoped by user so another account in the tab sees none.
 */
const PREFIX = "protochat:draft:";
const MAX = 4000;

function key(userId: string, roomId: string): string {
  return `${PREFIX}${userId}:${roomId}`;
}

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined; // blocked (privacy settings, sandboxed frames)
  }
}

export function loadDraft(userId: string, roomId: string): string {
  try {
    return (storage()?.getItem(key(userId, roomId)) ?? "").slice(0, MAX);
  } catch {
    return "";
  }
}

export function saveDraft(userId: string, roomId: string, text: string): void {
  try {
    const s = storage();
    if (!s) return;
    if (text.trim() === "") s.removeItem(key(userId, roomId));
    else s.setItem(key(userId, roomId), text.slice(0, MAX));
  } catch {
    // Full or blocked: the draft just is not kept.
  }
}

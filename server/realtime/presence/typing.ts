/**
 * Typing indicators: coalesced and self-expiring. A fast typist calls
 * SetTyping on every keystroke; the room hears "typing" at most once per
 * `refreshMs` and "stopped" once, either when told or `expireMs` after the
 * last call. Nothing is stored.
 */

import { tuning } from "../../config.js";
import { channels, encodeBus } from "../bus/bus-format.js";

interface State {
  lastSentAt: number;
  expiry: NodeJS.Timeout;
}

/** Tracks who is typing where, for users whose calls reach this process. */
export class TypingTracker {
  private readonly states = new Map<string, State>();

  constructor(
    private readonly send: (channel: string, payload: Uint8Array) => void,
    private readonly expireMs: number = tuning.typing.expireMs,
    private readonly refreshMs: number = tuning.typing.refreshMs,
  ) {}

  /** Records a SetTyping call. */
  set(roomId: bigint, userId: bigint, typing: boolean): void {
    const key = `${roomId}:${userId}`;
    const state = this.states.get(key);
    if (!typing) {
      if (!state) return;
      this.stop(key, roomId, userId);
      return;
    }
    const now = Date.now();
    if (state) clearTimeout(state.expiry);
    const expiry = setTimeout(() => this.stop(key, roomId, userId), this.expireMs);
    expiry.unref();
    if (!state || now - state.lastSentAt >= this.refreshMs) {
      this.publish(roomId, userId, true);
      this.states.set(key, { lastSentAt: now, expiry });
    } else {
      state.expiry = expiry;
    }
  }

  private stop(key: string, roomId: bigint, userId: bigint): void {
    const state = this.states.get(key);
    if (!state) return;
    clearTimeout(state.expiry);
    this.states.delete(key);
    this.publish(roomId, userId, false);
  }

  private publish(roomId: bigint, userId: bigint, typing: boolean): void {
    this.send(
      channels.room(roomId),
      encodeBus({ case: "typing", value: { roomId, userId, typing } }),
    );
  }

  /** Drops every timer (shutdown). */
  clear(): void {
    for (const s of this.states.values()) clearTimeout(s.expiry);
    this.states.clear();
  }
}

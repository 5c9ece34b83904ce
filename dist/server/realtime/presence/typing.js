/**
 * Typing indicators: coalesced and self-expiring. A fast typist calls
 * SetTyping on every keystroke; the room hears "typing" at most once per
 * `refreshMs` and "stopped" once, either when told or `expireMs` after the
 * last call. Nothing is stored.
 */
import { tuning } from "../../config.js";
import { channels, encodeBus } from "../bus/bus-format.js";
/** Tracks who is typing where, for users whose calls reach this process. */
export class TypingTracker {
    send;
    expireMs;
    refreshMs;
    states = new Map();
    constructor(send, expireMs = tuning.typing.expireMs, refreshMs = tuning.typing.refreshMs) {
        this.send = send;
        this.expireMs = expireMs;
        this.refreshMs = refreshMs;
    }
    /** Records a SetTyping call. */
    set(roomId, userId, typing) {
        const key = `${roomId}:${userId}`;
        const state = this.states.get(key);
        if (!typing) {
            if (!state)
                return;
            this.stop(key, roomId, userId);
            return;
        }
        const now = Date.now();
        if (state)
            clearTimeout(state.expiry);
        const expiry = setTimeout(() => this.stop(key, roomId, userId), this.expireMs);
        expiry.unref();
        if (!state || now - state.lastSentAt >= this.refreshMs) {
            this.publish(roomId, userId, true);
            this.states.set(key, { lastSentAt: now, expiry });
        }
        else {
            state.expiry = expiry;
        }
    }
    stop(key, roomId, userId) {
        const state = this.states.get(key);
        if (!state)
            return;
        clearTimeout(state.expiry);
        this.states.delete(key);
        this.publish(roomId, userId, false);
    }
    publish(roomId, userId, typing) {
        this.send(channels.room(roomId), encodeBus({ case: "typing", value: { roomId, userId, typing } }));
    }
    /** Drops every timer (shutdown). */
    clear() {
        for (const s of this.states.values())
            clearTimeout(s.expiry);
        this.states.clear();
    }
}
//# sourceMappingURL=typing.js.map
/** The pinned list of a room, and pin/unpin in a message's actions. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { MemberRole } from "@protochat/sdk";
import { useState } from "react";
import { idOf } from "../../state/chat-state.js";
import { errorText } from "../../state/controller.js";
import { displayName, friendlyTime } from "../../util/format.js";
import { useChat } from "../hooks.js";
import { openAt } from "../search/nav.js";
import { useServices } from "../search/services.js";
import { reloadPins, useFollowPins, usePins } from "./pins.js";
import "./pins.css";

export function PinsFollower({ roomId }: { roomId: string }) {
  useFollowPins(roomId);
  return null;
}

function useCanPin(roomId: string): boolean {
  const role = useChat((s) => s.rooms[roomId]?.role);
  const p = usePins(roomId);
  return role === MemberRole.OWNER || role === MemberRole.ADMIN || (p?.membersCanPin ?? false);
}

export function PinButton({ roomId, messageId }: { roomId: string; messageId: bigint }) {
  const s = useServices();
  const p = usePins(roomId);
  const can = useCanPin(roomId);
  const [error, setError] = useState<string>();
  if (!p || !can) return null;
  const pinned = p.pins.some((x) => x.message?.id === messageId);
  async function toggle() {
    try {
      if (pinned) await s.pins.unpinMessage({ messageId });
      else await s.pins.pinMessage({ messageId });
      setError(undefined);
      await reloadPins(s, roomId);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <>
      <button type="button" aria-pressed={pinned} onClick={() => void toggle()}>
        {pinned ? "Unpin" : "Pin"}
      </button>
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

export function PinsPanel({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const p = usePins(roomId);
  const users = useChat((s) => s.users);
  const now = new Date();
  return (
    <aside className="members-panel pins-panel" aria-label="Pinned messages">
      <div className="panel-head">
        <h2>Pinned</h2>
        <button type="button" className="icon-button" aria-label="Close pins" onClick={onClose}>
          ×
        </button>
      </div>
      {!p && <p className="muted">Loading…</p>}
      {p && p.pins.length === 0 && <p className="muted">No pinned messages.</p>}
      {p && p.pins.length > 0 && (
        <ol className="pin-list">
          {p.pins.map((pin) => {
            const m = pin.message;
            if (!m) return null;
            const time = pin.pinTime ? timestampDate(pin.pinTime) : undefined;
            return (
              <li key={m.id.toString()}>
                <button
                  type="button"
                  className="pin-item"
                  data-testid="pin"
                  onClick={() => openAt(roomId, m.seq)}
                >
                  <span className="sender">{displayName(users[idOf(m.senderId)], "Someone")}</span>
                  <span className="pin-text">{m.deleted ? "Deleted message" : m.text}</span>
                  <span className="muted small">
                    Pinned by {displayName(users[idOf(pin.pinnedBy)], "someone")}
                    {time && ` · ${friendlyTime(time, now)}`}
                  </span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
    </aside>
  );
}

/**
 * What a message's menu offers about its sender: report the message, and
 * block or unblock the sender; and the collapsed line shown instead of a
 * blocked user's message until the reader asks to see it.
 */
import type { Message, User } from "@protochat/sdk";
import { useState } from "react";
import { createPortal } from "react-dom";
import { errorText } from "../../state/controller.js";
import { displayName } from "../../util/format.js";
import { useChat } from "../hooks.js";
import { isDirect } from "../names.js";
import { setBlocked, useBlocked } from "./blocks.js";
import { ReportDialog } from "./ReportDialog.js";
import { useModeration } from "./services.js";
import "./moderation.css";

/** True when the sender of `m` is blocked by the signed-in user (a deleted message has nothing to hide). */
export function useSenderBlocked(m: Message): boolean {
  const blocked = useBlocked();
  return m.senderId !== 0n && !m.deleted && blocked.has(m.senderId.toString());
}

/** The line in place of a blocked user's message. */
export function CollapsedMessage({ m, onShow }: { m: Message; onShow: () => void }) {
  return (
    <li className="msg collapsed-msg" data-seq={m.seq.toString()} data-testid="message">
      <div className="msg-gutter" />
      <div className="msg-main">
        <p className="muted small" data-testid="message-collapsed">
          Message from a blocked user —{" "}
          <button type="button" className="link-button" onClick={onShow}>
            show
          </button>
        </p>
      </div>
    </li>
  );
}

/** Report and Block/Unblock buttons of a message from someone else. */
export function MessageModerationActions({
  roomId,
  m,
  sender,
}: {
  roomId: string;
  m: Message;
  sender: User | undefined;
}) {
  const moderation = useModeration();
  // A direct conversation has no moderators: blocking is the remedy there.
  const direct = useChat((s) => {
    const r = s.rooms[roomId];
    return r !== undefined && isDirect(r);
  });
  const blocked = useBlocked();
  const [reporting, setReporting] = useState(false);
  const [error, setError] = useState<string>();
  if (m.senderId === 0n) return null;
  const isBlocked = blocked.has(m.senderId.toString());
  const name = displayName(sender, "this user");
  async function toggleBlock() {
    if (!isBlocked && !window.confirm(`Block ${name}? Their messages will be collapsed for you.`)) {
      return;
    }
    try {
      await setBlocked(moderation, m.senderId, !isBlocked);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <>
      {!direct && (
        <button type="button" onClick={() => setReporting(true)}>
          Report
        </button>
      )}
      <button type="button" onClick={() => void toggleBlock()}>
        {isBlocked ? `Unblock ${name}` : `Block ${name}`}
      </button>
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}
      {reporting &&
        // Outside the message's hover menu, which hides when the pointer leaves it.
        createPortal(
          <ReportDialog
            roomId={roomId}
            message={m}
            senderName={name}
            onClose={() => setReporting(false)}
          />,
          document.body,
        )}
    </>
  );
}

/** The room header's "Threads" button: followed threads of the room, unread first. */
import { type Message, MessageKind } from "@protochat/sdk";
import { useEffect, useState } from "react";
import { useChat, useController } from "../hooks.js";
import type { ThreadActions } from "./context.js";
import { useFollowedThreads, useRefreshFollowed } from "./followed.js";

const NO_MESSAGES: Message[] = [];

export function ThreadsButton({ roomId, threads: t }: { roomId: string; threads: ThreadActions }) {
  const followed = useFollowedThreads();
  const refresh = useRefreshFollowed();
  const [open, setOpen] = useState(false);
  const messages = useChat((s) => s.rooms[roomId]?.messages ?? NO_MESSAGES);
  const lastRead = useChat((s) => s.rooms[roomId]?.lastReadSeq ?? 0n);
  const c = useController();
  // New thread activity in the room: the unread counts changed.
  let activity = 0n;
  for (const m of messages) if (m.threadRootId !== 0n && m.seq > activity) activity = m.seq;
  useEffect(() => {
    if (activity > 0n) refresh();
  }, [activity, refresh]);
  // Thread replies count as unread in the room but are not in its
  // conversation: once everything there is read, so are they (the thread
  // badges keep their own counts).
  let lastMain = 0n;
  for (const m of messages) if (m.threadRootId === 0n && m.seq > lastMain) lastMain = m.seq;
  useEffect(() => {
    if (activity > lastRead && lastRead >= lastMain && document.visibilityState !== "hidden") {
      c.markRead(roomId, activity);
    }
  }, [c, roomId, activity, lastRead, lastMain]);

  const mine = followed.filter((f) => f.root && f.root.roomId.toString() === roomId);
  const unread = mine.filter((f) => f.unreadCount > 0 && f.root?.id !== t.openRootId).length;
  return (
    <span className="threads-anchor">
      <button
        type="button"
        aria-expanded={open}
        data-testid="threads-button"
        onClick={() => setOpen((o) => !o)}
      >
        Threads
        {unread > 0 && <span className="badge thread-unread"> {unread}</span>}
      </button>
      {open && (
        <ul className="threads-menu" aria-label="Followed threads">
          {mine.length === 0 && <li className="muted small">No followed threads in this room.</li>}
          {mine.map((f) =>
            f.root ? (
              <li key={f.root.id.toString()}>
                <button
                  type="button"
                  onClick={() => {
                    setOpen(false);
                    if (f.root) t.openThread(f.root);
                  }}
                >
                  <span className="upload-name">
                    {f.root.kind === MessageKind.SYSTEM || !f.root.text
                      ? f.root.attachments.length > 0
                        ? `${f.root.attachments.length} file(s)`
                        : "(message)"
                      : f.root.text.slice(0, 60)}
                  </span>
                  {f.unreadCount > 0 && (
                    <span className="badge thread-unread">{f.unreadCount}</span>
                  )}
                </button>
              </li>
            ) : null,
          )}
        </ul>
      )}
    </span>
  );
}

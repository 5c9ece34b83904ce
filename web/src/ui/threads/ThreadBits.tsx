/** Thread pieces shown with messages: "Reply in thread" and the root's reply count. */
import type { Message } from "@protochat/sdk";
import { useChat } from "../hooks.js";
import { useThreads } from "./context.js";
import { useFollowedThreads } from "./followed.js";
import { liveReplyCount } from "./threads.js";
import "./threads.css";

export function ReplyInThreadButton({ message: m }: { message: Message }) {
  const t = useThreads();
  if (!t || m.threadRootId !== 0n || m.custom) return null;
  return (
    <button type="button" onClick={() => t.openThread(m)}>
      Reply in thread
    </button>
  );
}

const NO_MESSAGES: Message[] = [];

export function ThreadSummaryLine({ roomId, message: m }: { roomId: string; message: Message }) {
  const t = useThreads();
  const messages = useChat((s) => s.rooms[roomId]?.messages ?? NO_MESSAGES);
  if (!t || m.threadRootId !== 0n) return null;
  const count = liveReplyCount(m, messages);
  if (count === 0) return null;
  return <ThreadSummaryButton message={m} count={count} />;
}

function ThreadSummaryButton({ message: m, count }: { message: Message; count: number }) {
  const t = useThreads();
  const followed = useFollowedThreads();
  if (!t) return null;
  const state = followed.find((f) => f.root?.id === m.id);
  const unread = t.openRootId === m.id ? 0 : (state?.unreadCount ?? 0);
  return (
    <button
      type="button"
      className="thread-summary link-button"
      data-testid="thread-summary"
      aria-label={`${count} ${count === 1 ? "reply" : "replies"}${unread ? `, ${unread} unread` : ""}, open thread`}
      onClick={() => t.openThread(m)}
    >
      <span data-testid="reply-count">
        {count} {count === 1 ? "reply" : "replies"}
      </span>
      {unread > 0 && (
        <span className="badge thread-unread" data-testid="thread-unread">
          {unread} new
        </span>
      )}
    </button>
  );
}

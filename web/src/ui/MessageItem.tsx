/** One message: sender, time, reply quote, text with mentions, reactions, actions. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Message, ReplyPreview, User } from "@protochat/sdk";
import { Fragment, type KeyboardEvent, useState } from "react";
import { type Id, idOf, type PendingMessage } from "../state/chat-state.js";
import { errorText } from "../state/controller.js";
import { displayName, friendlyTime, splitMentions } from "../util/format.js";
import { Avatar } from "./Avatar.js";
import { MessageAttachments } from "./files/Attachments.js";
import { useController } from "./hooks.js";
import { SafeMarkdown } from "./markdown/SafeMarkdown.js";
import {
  CollapsedMessage,
  MessageModerationActions,
  useSenderBlocked,
} from "./moderation/MessageModeration.js";
import { PinButton } from "./pins/Pins.js";
import { SeenBy } from "./receipts/SeenBy.js";
import { ReplyInThreadButton, ThreadSummaryLine } from "./threads/ThreadBits.js";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/** Text with @mentions highlighted; always rendered as text, never as HTML. */
export function RichText({ text, me }: { text: string; me: User | undefined }) {
  const mine = me?.username.toLowerCase();
  return (
    <>
      {splitMentions(text).map((p, i) =>
        p.mention ? (
          <span
            // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable text
            key={i}
            className={`mention ${p.mention.toLowerCase() === mine ? "mention-me" : ""}`}
          >
            {p.text}
          </span>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable text
          <Fragment key={i}>{p.text}</Fragment>
        ),
      )}
    </>
  );
}

function ReplyQuote({ reply, users }: { reply: ReplyPreview; users: Record<Id, User> }) {
  return (
    <blockquote className="reply-quote" data-testid="reply-quote">
      <span className="reply-sender">{displayName(users[idOf(reply.senderId)], "someone")}</span>{" "}
      {reply.deleted ? <em className="muted">deleted message</em> : reply.text}
    </blockquote>
  );
}

export function MessageItem({
  roomId,
  message: m,
  grouped,
  me,
  users,
  moderator,
  now,
  onReply,
  inThread,
}: {
  roomId: string;
  message: Message;
  grouped: boolean;
  me: User | undefined;
  users: Record<Id, User>;
  moderator: boolean;
  now: Date;
  onReply: (m: Message) => void;
  /** Shown in the thread panel (thread replies are hidden from the conversation). */
  inThread?: boolean;
}) {
  const c = useController();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.text);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [picker, setPicker] = useState(false);
  const [error, setError] = useState<string>();
  const sender = users[idOf(m.senderId)];
  const name = displayName(sender, m.senderId === 0n ? "System" : "Unknown user");
  const mine = me !== undefined && m.senderId === me.id;
  const mentionsMe = me !== undefined && m.mentionIds.includes(me.id);
  const time = m.createTime ? timestampDate(m.createTime) : undefined;
  const senderBlocked = useSenderBlocked(m);
  const [showBlocked, setShowBlocked] = useState(false);
  if (m.threadRootId !== 0n && !inThread) return null;
  if (senderBlocked && !showBlocked && !mine) {
    return <CollapsedMessage m={m} onShow={() => setShowBlocked(true)} />;
  }

  const run = (p: Promise<unknown>) =>
    p.then(
      () => setError(undefined),
      (err: unknown) => setError(errorText(err)),
    );

  function saveEdit() {
    const text = draft.trim();
    setEditing(false);
    if (text && text !== m.text) void run(c.edit(roomId, m.id, text));
  }
  function onEditKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      saveEdit();
    } else if (e.key === "Escape") {
      setEditing(false);
    }
  }

  return (
    <li
      className={`msg ${grouped ? "grouped" : ""} ${mine ? "mine" : ""} ${mentionsMe ? "mentions-me" : ""} ${m.deleted ? "deleted" : ""}`}
      data-seq={m.seq.toString()}
      data-testid="message"
      data-status={mine ? "sent" : undefined}
      aria-label={`${name}${time ? `, ${friendlyTime(time, now)}` : ""}`}
    >
      <div className="msg-gutter">{!grouped && <Avatar user={sender} id={idOf(m.senderId)} />}</div>
      <div className="msg-main">
        {!grouped && (
          <div className="msg-head">
            <span className="sender">{name}</span>
            {sender?.displayName && <span className="handle">@{sender.username}</span>}
            {time && (
              <time dateTime={time.toISOString()} title={time.toLocaleString()}>
                {friendlyTime(time, now)}
              </time>
            )}
          </div>
        )}
        {m.replyTo && <ReplyQuote reply={m.replyTo} users={users} />}
        {m.deleted ? (
          <p className="msg-text tombstone" data-testid="message-text">
            This message was deleted.
          </p>
        ) : editing ? (
          <div className="edit-box">
            <label className="visually-hidden" htmlFor={`edit-${m.id}`}>
              Edit message
            </label>
            <textarea
              id={`edit-${m.id}`}
              // biome-ignore lint/a11y/noAutofocus: the user asked to edit this message
              autoFocus
              value={draft}
              maxLength={4000}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={onEditKey}
            />
            <div className="edit-actions">
              <button type="button" onClick={() => setEditing(false)}>
                Cancel
              </button>
              <button type="button" className="primary" onClick={saveEdit}>
                Save
              </button>
            </div>
          </div>
        ) : (
          <div className="msg-text" data-testid="message-text">
            {m.custom ? (
              <em>[{m.custom.type}]</em>
            ) : (
              <SafeMarkdown text={m.text} me={me?.username} />
            )}
            {m.editTime && (
              <span
                className="edited"
                title={`Edited ${timestampDate(m.editTime).toLocaleString()}`}
              >
                {" "}
                (edited)
              </span>
            )}
          </div>
        )}
        {!m.deleted && <MessageAttachments attachments={m.attachments} />}
        {m.reactions.length > 0 && (
          <ul className="reactions" aria-label="Reactions">
            {m.reactions.map((r) => (
              <li key={r.emoji}>
                <button
                  type="button"
                  className={`reaction ${r.me ? "mine" : ""}`}
                  aria-pressed={r.me}
                  aria-label={`${r.emoji} ${r.count}${r.me ? ", you reacted" : ""}`}
                  onClick={() => run(c.toggleReaction(roomId, m, r.emoji))}
                >
                  <span aria-hidden="true">{r.emoji}</span> <span className="count">{r.count}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {!inThread && <ThreadSummaryLine roomId={roomId} message={m} />}
        <SeenBy roomId={roomId} seq={m.seq} />
        {error && (
          <p className="error small" role="alert">
            {error}
          </p>
        )}
        {!m.deleted && !editing && (
          <div className="msg-actions">
            {!inThread && (
              <button type="button" onClick={() => onReply(m)}>
                Reply
              </button>
            )}
            {!inThread && <ReplyInThreadButton message={m} />}
            <button type="button" aria-expanded={picker} onClick={() => setPicker((p) => !p)}>
              React
            </button>
            <PinButton roomId={roomId} messageId={m.id} />
            {mine && !m.custom && (
              <button
                type="button"
                onClick={() => {
                  setDraft(m.text);
                  setEditing(true);
                }}
              >
                Edit
              </button>
            )}
            {!mine && <MessageModerationActions roomId={roomId} m={m} sender={sender} />}
            {(mine || moderator) &&
              (confirmDelete ? (
                <span className="confirm">
                  Delete?{" "}
                  <button
                    type="button"
                    className="danger"
                    onClick={() => {
                      setConfirmDelete(false);
                      void run(c.remove(roomId, m.id));
                    }}
                  >
                    Yes, delete
                  </button>
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    No
                  </button>
                </span>
              ) : (
                <button type="button" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              ))}
          </div>
        )}
        {picker && (
          <div className="picker">
            {QUICK_REACTIONS.map((emoji) => (
              <button
                key={emoji}
                type="button"
                aria-label={`React with ${emoji}`}
                onClick={() => {
                  setPicker(false);
                  void run(c.toggleReaction(roomId, m, emoji));
                }}
              >
                {emoji}
              </button>
            ))}
          </div>
        )}
      </div>
    </li>
  );
}

/** A message on its way: pending, or failed with retry. */
export function PendingItem({
  roomId,
  pending: p,
  me,
  users,
}: {
  roomId: string;
  pending: PendingMessage;
  me: User | undefined;
  users: Record<Id, User>;
}) {
  const c = useController();
  const failed = p.status === "failed";
  return (
    <li
      className={`msg mine ${failed ? "failed" : "pending"}`}
      data-testid="message"
      data-status={p.status}
      data-client-msg-id={p.clientMsgId}
    >
      <div className="msg-gutter">{me && <Avatar user={me} id={idOf(me.id)} />}</div>
      <div className="msg-main">
        <div className="msg-head">
          <span className="sender">{displayName(me, "You")}</span>
          <span className="status">{failed ? "Failed to send" : "Sending…"}</span>
        </div>
        {p.replyTo && <ReplyQuote reply={p.replyTo} users={users} />}
        <p className="msg-text" data-testid="message-text">
          <RichText text={p.text} me={me} />
        </p>
        {failed && (
          <div className="failed-actions">
            {p.error && <span className="error small">{p.error}</span>}
            <button type="button" onClick={() => c.retry(roomId, p.clientMsgId)}>
              Retry
            </button>
            <button type="button" onClick={() => c.discard(roomId, p.clientMsgId)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}

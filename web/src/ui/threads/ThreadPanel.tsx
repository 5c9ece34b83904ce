/**
 * A thread beside the conversation: its root, its replies (the pages of
 * ListThreadMessages and, live, the room events whose message has this
 * thread_root_id), its own composer, a Follow / Following toggle; the read
 * marker follows what it shows.
 */
import { MemberRole, type Message } from "@protochat/sdk";
import { type KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import { errorText } from "../../state/controller.js";
import { useClients } from "../files/context.js";
import { sendMessageWith } from "../files/send.js";
import { AttachButton, fileHandlers, UploadTray, useUploads } from "../files/Uploads.js";
import { useChat, useController, useNow } from "../hooks.js";
import { MessageItem } from "../MessageItem.js";
import { FollowButton } from "./FollowButton.js";
import { useRefreshFollowed } from "./followed.js";
import { lastSeq, mergeReplies } from "./threads.js";
import "./threads.css";

const NO_MESSAGES: Message[] = [];

export function ThreadPanel({
  roomId,
  rootId,
  onClose,
}: {
  roomId: string;
  rootId: bigint;
  onClose: () => void;
}) {
  const clients = useClients();
  const c = useController();
  const r = useChat((s) => s.rooms[roomId]);
  const roomMessages = useChat((s) => s.rooms[roomId]?.messages ?? NO_MESSAGES);
  const users = useChat((s) => s.users);
  const me = useChat((s) => s.me);
  const now = useNow(60_000);
  const refreshFollowed = useRefreshFollowed();
  const [fetched, setFetched] = useState<{ root?: Message; replies: Message[] }>({ replies: [] });
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string>();
  // Whether the caller follows it: from the first page, then from each read
  // marker's answer (a first read follows) and the toggle.
  const [following, setFollowing] = useState<boolean>();
  // Toggles so far: a read marker's answer sent before the last toggle is stale.
  const toggles = useRef(0);
  const scroller = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    setLoaded(false);
    setFollowing(undefined);
    (async () => {
      let after = 0n;
      let root: Message | undefined;
      let follows = false;
      const replies: Message[] = [];
      for (let i = 0; i < 20; i++) {
        const page = await clients.threads.listThreadMessages({
          rootMessageId: rootId,
          afterSeq: after,
          limit: 200,
        });
        root = page.root ?? root;
        if (i === 0) follows = page.following;
        replies.push(...page.replies);
        if (!page.hasMore || page.replies.length === 0) break;
        after = lastSeq(page.replies);
      }
      if (!live) return;
      setFetched({ root, replies });
      setFollowing(follows);
      setLoaded(true);
      c.ensureUsers([...(root ? [root.senderId] : []), ...replies.map((m) => m.senderId)]);
    })().catch((err: unknown) => {
      if (live) setError(errorText(err));
    });
    return () => {
      live = false;
    };
  }, [clients, c, rootId]);

  const root = roomMessages.find((m) => m.id === rootId) ?? fetched.root;
  const replies = mergeReplies(rootId, fetched.replies, roomMessages);
  const latest = lastSeq(replies);

  // Read up to the newest reply shown.
  useEffect(() => {
    if (!loaded || latest === 0n || globalThis.document?.visibilityState === "hidden") return;
    let live = true;
    const toggled = toggles.current;
    clients.threads.markThreadRead({ rootMessageId: rootId, seq: latest }).then(
      (res) => {
        if (live && res.thread && toggles.current === toggled) setFollowing(res.thread.following);
        refreshFollowed();
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [clients, rootId, latest, loaded, refreshFollowed]);

  // Stay at the bottom as replies arrive.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the replies change
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [replies.length, loaded]);

  const moderator = r?.role === MemberRole.OWNER || r?.role === MemberRole.ADMIN;
  const archived = r?.room.archiveTime !== undefined;
  const noop = () => {};
  return (
    <aside className="thread-panel" aria-label="Thread" data-testid="thread-panel">
      <div className="panel-head">
        <h2>Thread</h2>
        <span className="thread-head-actions">
          {following !== undefined && (
            <FollowButton
              rootId={rootId}
              following={following}
              onChange={(f) => {
                toggles.current += 1;
                setFollowing(f);
              }}
            />
          )}
          <button type="button" className="icon-button" aria-label="Close thread" onClick={onClose}>
            ×
          </button>
        </span>
      </div>
      <div className="thread-scroller" ref={scroller}>
        {error && (
          <p className="error small" role="alert">
            {error}
          </p>
        )}
        <ol className="messages" aria-label="Thread messages">
          {root && (
            <MessageItem
              roomId={roomId}
              message={root}
              grouped={false}
              me={me}
              users={users}
              moderator={moderator}
              now={now}
              onReply={noop}
              inThread
            />
          )}
          <li className="thread-divider">
            {!loaded && !error
              ? "Loading replies…"
              : `${replies.filter((m) => !m.deleted).length} ${replies.length === 1 ? "reply" : "replies"}`}
          </li>
          {replies.map((m) => (
            <MessageItem
              key={m.id.toString()}
              roomId={roomId}
              message={m}
              grouped={false}
              me={me}
              users={users}
              moderator={moderator}
              now={now}
              onReply={noop}
              inThread
            />
          ))}
        </ol>
      </div>
      <ThreadComposer roomId={roomId} rootId={rootId} disabled={archived} />
    </aside>
  );
}

function ThreadComposer({
  roomId,
  rootId,
  disabled,
}: {
  roomId: string;
  rootId: bigint;
  disabled?: boolean;
}) {
  const clients = useClients();
  const c = useController();
  const uploads = useUploads();
  const [text, setText] = useState("");
  const [error, setError] = useState<string>();
  const [sending, setSending] = useState(false);
  const id = useId();

  async function send() {
    const value = text.trim();
    if ((!value && uploads.ids.length === 0) || disabled || uploads.busy || sending) return;
    setSending(true);
    try {
      await sendMessageWith(clients, c, roomId, {
        text: value,
        attachmentIds: uploads.ids,
        threadRootId: rootId,
      });
      setText("");
      uploads.clear();
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSending(false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  }

  return (
    <form
      className="thread-composer"
      {...fileHandlers(uploads, disabled)}
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <UploadTray uploads={uploads} />
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      <div className="composer-row">
        <AttachButton uploads={uploads} disabled={disabled} />
        <label htmlFor={id} className="visually-hidden">
          Reply in thread
        </label>
        <textarea
          id={id}
          rows={1}
          maxLength={4000}
          placeholder={disabled ? "This room is read-only" : "Reply in thread"}
          disabled={disabled}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button
          type="submit"
          className="primary"
          disabled={
            disabled || sending || uploads.busy || (!text.trim() && uploads.ids.length === 0)
          }
        >
          Reply
        </button>
      </div>
    </form>
  );
}

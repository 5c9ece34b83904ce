import type { Message } from "@protochat/sdk";
import { MemberRole, Visibility } from "@protochat/sdk";
import { useEffect, useState } from "react";
import { errorText } from "../state/controller.js";
import { displayName, typingText } from "../util/format.js";
import { Composer } from "./Composer.js";
import { InviteDialog, RoomSettingsDialog } from "./dialogs.js";
import { goToRoom, useChat, useController } from "./hooks.js";
import { MembersPanel } from "./MembersPanel.js";
import { MessageList } from "./MessageList.js";
import { ModerationPanel } from "./moderation/ModerationPanel.js";
import { isDirect, roomTitle } from "./names.js";
import { PinsFollower, PinsPanel } from "./pins/Pins.js";
import { ReceiptsFollower } from "./receipts/SeenBy.js";
import { FocusMessage } from "./search/FocusMessage.js";
import { setSearchOpen, useNav } from "./search/nav.js";
import { SearchPanel } from "./search/SearchPanel.js";
import { ThreadContext } from "./threads/context.js";
import { ThreadPanel } from "./threads/ThreadPanel.js";
import { ThreadsButton } from "./threads/ThreadsButton.js";

export function RoomView({ roomId }: { roomId: string }) {
  const c = useController();
  const r = useChat((s) => s.rooms[roomId]);
  const me = useChat((s) => s.me?.id);
  const [panel, setPanel] = useState<"members" | "pins" | "reports" | undefined>(undefined);
  const [dialog, setDialog] = useState<"settings" | "invite" | undefined>();
  const [replyTo, setReplyTo] = useState<Message | undefined>();
  const [error, setError] = useState<string>();
  const [thread, setThread] = useState<bigint>();
  const threads = {
    openThread: (m: Message) => {
      setPanel(undefined);
      setThread(m.id);
    },
    openRootId: thread,
  };
  const { searchOpen } = useNav();

  useEffect(() => {
    c.viewRoom(roomId);
    return () => c.viewRoom(undefined);
  }, [c, roomId]);

  if (!r) return <div className="loading">Loading room…</div>;
  const title = roomTitle(r, me);
  const direct = isDirect(r);
  const moderator = r.role === MemberRole.OWNER || r.role === MemberRole.ADMIN;
  const canInvite = !direct && (moderator || r.room.visibility === Visibility.PUBLIC);
  const archived = r.room.archiveTime !== undefined;

  async function leave() {
    try {
      await c.leaveRoom(roomId);
      goToRoom(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <div className={`room-view ${panel || thread || searchOpen ? "with-panel" : ""}`}>
      <header className="room-head">
        <button
          type="button"
          className="icon-button back"
          aria-label="Back to rooms"
          onClick={() => goToRoom(undefined)}
        >
          ‹
        </button>
        <div className="room-head-title">
          <h1>{title}</h1>
          <p className="muted small">
            {r.room.memberCount} member{r.room.memberCount === 1 ? "" : "s"}
            {r.onlineMembers !== undefined && ` · ${r.onlineMembers} online`}
            {r.room.description && ` · ${r.room.description}`}
            {r.room.slowModeSeconds > 0 && ` · Slow mode: ${r.room.slowModeSeconds} s`}
            {archived && " · archived (read-only)"}
          </p>
        </div>
        <div className="room-head-actions">
          <ThreadsButton roomId={roomId} threads={threads} />
          {canInvite && (
            <button type="button" onClick={() => setDialog("invite")}>
              Invite
            </button>
          )}
          {moderator && !direct && (
            <button type="button" onClick={() => setDialog("settings")}>
              Settings
            </button>
          )}
          <button
            type="button"
            aria-expanded={panel === "pins"}
            onClick={() => {
              setSearchOpen(false);
              setPanel((p) => (p === "pins" && !searchOpen ? undefined : "pins"));
            }}
          >
            Pinned
          </button>
          <button
            type="button"
            aria-expanded={searchOpen}
            onClick={() => setSearchOpen(!searchOpen)}
          >
            Search
          </button>
          {moderator && !direct && (
            <button
              type="button"
              aria-expanded={panel === "reports"}
              onClick={() => {
                setThread(undefined);
                setSearchOpen(false);
                setPanel((p) => (p === "reports" && !searchOpen ? undefined : "reports"));
              }}
            >
              Reports
            </button>
          )}
          <button
            type="button"
            aria-expanded={panel === "members"}
            aria-controls={`members-${roomId}`}
            onClick={() => {
              setThread(undefined);
              setSearchOpen(false);
              setPanel((p) => (p === "members" && !searchOpen ? undefined : "members"));
            }}
          >
            Members
          </button>
          {!direct && (
            <button type="button" onClick={leave}>
              Leave
            </button>
          )}
        </div>
      </header>
      {error && (
        <p className="error inline-error" role="alert">
          {error}
        </p>
      )}
      <div className="room-body">
        <div className="conversation">
          <FocusMessage roomId={roomId} />
          <ReceiptsFollower roomId={roomId} />
          <PinsFollower roomId={roomId} />
          <ThreadContext.Provider value={threads}>
            <MessageList roomId={roomId} onReply={setReplyTo} />
          </ThreadContext.Provider>
          <TypingLine roomId={roomId} />
          <Composer
            roomId={roomId}
            label={`Message ${direct ? title : `#${title}`}`}
            disabled={archived}
            replyTo={replyTo}
            onCancelReply={() => setReplyTo(undefined)}
          />
        </div>
        {searchOpen && <SearchPanel />}
        {panel === "pins" && !searchOpen && (
          <PinsPanel roomId={roomId} onClose={() => setPanel(undefined)} />
        )}
        {panel === "reports" && !searchOpen && (
          <ModerationPanel roomId={roomId} onClose={() => setPanel(undefined)} />
        )}
        {panel === "members" && !searchOpen && (
          <MembersPanel
            roomId={roomId}
            id={`members-${roomId}`}
            onClose={() => setPanel(undefined)}
          />
        )}
        {thread !== undefined && (
          <ThreadPanel
            key={thread.toString()}
            roomId={roomId}
            rootId={thread}
            onClose={() => setThread(undefined)}
          />
        )}
      </div>
      {dialog === "settings" && (
        <RoomSettingsDialog roomId={roomId} onClose={() => setDialog(undefined)} />
      )}
      {dialog === "invite" && <InviteDialog roomId={roomId} onClose={() => setDialog(undefined)} />}
    </div>
  );
}

function TypingLine({ roomId }: { roomId: string }) {
  const typing = useChat((s) => s.rooms[roomId]?.typing);
  const users = useChat((s) => s.users);
  const c = useController();
  const ids = Object.keys(typing ?? {});
  useEffect(() => {
    c.ensureUsers(ids.map((id) => BigInt(id)));
  });
  const names = ids.map((id) => displayName(users[id], "Someone"));
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {typingText(names)}
    </div>
  );
}

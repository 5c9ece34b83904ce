import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "react";
import type { Clients } from "../api/clients.js";
import { idOf, sortedRooms } from "../state/chat-state.js";
import { displayName, shortTime } from "../util/format.js";
import { Avatar } from "./Avatar.js";
import { CreateRoomDialog, DirectoryDialog, NewDirectDialog, NewGroupDialog } from "./dialogs.js";
import { useChat, useController, useNow } from "./hooks.js";
import { InvitationList } from "./invitations/Invitations.js";
import { isDirect, previewText, roomTitle } from "./names.js";
import { PrivacyDialog } from "./settings/PrivacyDialog.js";

type Open = "create" | "directory" | "direct" | "group" | "privacy" | undefined;

export function Sidebar({
  currentRoomId,
  onSignOut,
  clients,
}: {
  currentRoomId: string | undefined;
  onSignOut: (m?: string) => void;
  clients: Clients;
}) {
  const me = useChat((s) => s.me);
  const [open, setOpen] = useState<Open>();
  async function logOut() {
    try {
      await clients.auth.logout({});
    } catch {
      // signed out locally either way
    }
    onSignOut();
  }
  return (
    <aside className="sidebar" aria-label="Rooms and account">
      <header className="sidebar-head">
        <div className="me">
          {me && <Avatar user={me} id={idOf(me.id)} size={32} />}
          <div className="me-names">
            <strong>{displayName(me, "…")}</strong>
            {me && <span className="muted">@{me.username}</span>}
          </div>
        </div>
        <button type="button" className="link-button" onClick={() => setOpen("privacy")}>
          Privacy
        </button>
        <button type="button" className="link-button" onClick={logOut}>
          Log out
        </button>
      </header>
      <div className="sidebar-actions">
        <button type="button" onClick={() => setOpen("create")}>
          New room
        </button>
        <button type="button" onClick={() => setOpen("directory")}>
          Browse rooms
        </button>
        <button type="button" onClick={() => setOpen("direct")}>
          New message
        </button>
        <button type="button" onClick={() => setOpen("group")}>
          New group
        </button>
      </div>
      <InvitationList />
      <RoomList currentRoomId={currentRoomId} />
      {open === "create" && <CreateRoomDialog onClose={() => setOpen(undefined)} />}
      {open === "directory" && <DirectoryDialog onClose={() => setOpen(undefined)} />}
      {open === "direct" && <NewDirectDialog onClose={() => setOpen(undefined)} />}
      {open === "group" && <NewGroupDialog onClose={() => setOpen(undefined)} />}
      {open === "privacy" && <PrivacyDialog onClose={() => setOpen(undefined)} />}
    </aside>
  );
}

export function RoomList({ currentRoomId }: { currentRoomId: string | undefined }) {
  const rooms = useChat((s) => s.rooms);
  const loaded = useChat((s) => s.roomsLoaded);
  const users = useChat((s) => s.users);
  const me = useChat((s) => s.me?.id);
  const now = useNow();
  const c = useController();
  const list = sortedRooms(rooms);
  // Names for the previews.
  useEffect(() => {
    c.ensureUsers(Object.values(rooms).map((r) => r.lastMessage?.senderId ?? 0n));
  }, [c, rooms]);
  return (
    <nav className="room-list" aria-label="Your rooms">
      {loaded && list.length === 0 && (
        <p className="muted empty">No rooms yet. Create one or browse public rooms.</p>
      )}
      <ul>
        {list.map((r) => {
          const title = roomTitle(r, me);
          const time = r.room.lastActivityTime ?? r.room.createTime;
          const peer = isDirect(r) ? r.peers.find((p) => p.id !== me) : undefined;
          const label = [
            title,
            r.unread ? `${r.unread} unread` : "",
            r.mentions ? `${r.mentions} mention${r.mentions > 1 ? "s" : ""}` : "",
          ]
            .filter(Boolean)
            .join(", ");
          return (
            <li key={r.id}>
              <a
                href={`#/room/${r.id}`}
                className={`room-item ${r.unread ? "unread" : ""}`}
                aria-current={r.id === currentRoomId ? "page" : undefined}
                aria-label={label}
                data-room-name={title}
              >
                {peer ? (
                  <Avatar user={peer} id={idOf(peer.id)} size={40} />
                ) : (
                  <span className="room-avatar" aria-hidden="true">
                    #
                  </span>
                )}
                <span className="room-text">
                  <span className="room-line">
                    <span className="room-name">{title}</span>
                    {time && (
                      <time className="room-time" dateTime={timestampDate(time).toISOString()}>
                        {shortTime(timestampDate(time), now)}
                      </time>
                    )}
                  </span>
                  <span className="room-line">
                    <span className="room-preview">{previewText(r.lastMessage, users, me)}</span>
                    {r.mentions > 0 && (
                      <span className="badge mention" data-testid="mention-badge">
                        @{r.mentions}
                      </span>
                    )}
                    {r.unread > 0 && (
                      <span className="badge" data-testid="unread-badge">
                        {r.unread > 99 ? "99+" : r.unread}
                      </span>
                    )}
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

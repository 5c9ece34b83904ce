/** Members of a room with presence and roles; moderation for owners and admins. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { type Member, MemberRole, RoomService } from "@protochat/sdk";
import { useEffect, useState } from "react";
import { idOf } from "../state/chat-state.js";
import { errorText } from "../state/controller.js";
import { displayName, friendlyTime, roleName } from "../util/format.js";
import { Avatar } from "./Avatar.js";
import { useChat, useController, useNow } from "./hooks.js";
import { useLimitServices } from "./limits/services.js";
import { isDirect } from "./names.js";

/** Mute durations offered in a member's menu. */
export const MUTE_CHOICES: { label: string; seconds: number }[] = [
  { label: "10 minutes", seconds: 600 },
  { label: "1 hour", seconds: 3_600 },
  { label: "1 day", seconds: 86_400 },
  { label: "1 week", seconds: 604_800 },
];

const rank = (r: MemberRole) => (r === MemberRole.OWNER ? 3 : r === MemberRole.ADMIN ? 2 : 1);

export function MembersPanel({
  roomId,
  id,
  onClose,
}: {
  roomId: string;
  id: string;
  onClose: () => void;
}) {
  const c = useController();
  const room = useChat((s) => s.rooms[roomId]);
  const presence = useChat((s) => s.presence);
  const me = useChat((s) => s.me?.id);
  const now = useNow();
  const [error, setError] = useState<string>();
  const roomIdN = room?.room.id ?? 0n;
  const { data, isLoading, refetch } = useQuery(RoomService.method.listMembers, {
    roomId: roomIdN,
    pageSize: 200,
  });
  const { moderation } = useLimitServices();
  const canModerate =
    room !== undefined &&
    !isDirect(room) &&
    (room.role === MemberRole.OWNER || room.role === MemberRole.ADMIN);
  const banned = useQuery(
    RoomService.method.listMembers,
    { roomId: roomIdN, pageSize: 200, banned: true },
    { enabled: canModerate },
  );
  useEffect(() => {
    if (data) c.rememberUsers(data.members.map((m) => m.user));
  }, [c, data]);
  if (!room) return null;
  const myRole = room.role;
  const direct = isDirect(room);
  const archived = room.room.archiveTime !== undefined;
  const members = [...(data?.members ?? [])].sort((a, b) => {
    const oa = presence[idOf(a.user?.id ?? 0n)]?.online ? 1 : 0;
    const ob = presence[idOf(b.user?.id ?? 0n)]?.online ? 1 : 0;
    return (
      ob - oa ||
      rank(b.role) - rank(a.role) ||
      displayName(a.user).localeCompare(displayName(b.user))
    );
  });

  const act = (p: Promise<unknown>, e?: { currentTarget: Element }) => {
    // Close the member's menu once an action was chosen.
    const menu = e?.currentTarget.closest("details");
    if (menu) menu.open = false;
    return p.then(
      () => setError(undefined),
      (err: unknown) => setError(errorText(err)),
    );
  };

  function actions(m: Member) {
    const uid = m.user?.id ?? 0n;
    // Mirrors the server: owners and admins act on lower ranks only, and an
    // archived room takes no changes at all.
    if (
      direct ||
      archived ||
      uid === me ||
      rank(myRole) <= rank(m.role) ||
      myRole === MemberRole.MEMBER
    ) {
      return null;
    }
    const name = displayName(m.user);
    return (
      <details className="member-menu">
        <summary aria-label={`Actions for ${name}`}>⋯</summary>
        <div className="menu">
          {myRole === MemberRole.OWNER && m.role === MemberRole.MEMBER && (
            <button type="button" onClick={(e) => act(c.setRole(roomId, uid, MemberRole.ADMIN), e)}>
              Make admin
            </button>
          )}
          {myRole === MemberRole.OWNER && m.role === MemberRole.ADMIN && (
            <button
              type="button"
              onClick={(e) => act(c.setRole(roomId, uid, MemberRole.MEMBER), e)}
            >
              Remove admin
            </button>
          )}
          {MUTE_CHOICES.map((d) => (
            <button
              key={d.seconds}
              type="button"
              onClick={(e) =>
                act(
                  moderation
                    .muteMember({ roomId: roomIdN, userId: uid, durationSeconds: d.seconds })
                    .then(() => refetch()),
                  e,
                )
              }
            >
              Mute {d.label}
            </button>
          ))}
          {m.mutedUntil && (
            <button
              type="button"
              onClick={(e) =>
                act(
                  moderation.unmuteMember({ roomId: roomIdN, userId: uid }).then(() => refetch()),
                  e,
                )
              }
            >
              Unmute {name}
            </button>
          )}
          <button type="button" onClick={(e) => act(c.kick(roomId, uid), e)}>
            Kick {name}
          </button>
          <button
            type="button"
            className="danger"
            onClick={(e) =>
              act(
                c.ban(roomId, uid).then(() => banned.refetch()),
                e,
              )
            }
          >
            Ban {name}
          </button>
        </div>
      </details>
    );
  }

  return (
    <aside className="members-panel" id={id} aria-label="Members">
      <div className="panel-head">
        <h2>Members</h2>
        <button type="button" className="icon-button" aria-label="Close members" onClick={onClose}>
          ×
        </button>
      </div>
      {isLoading && <p className="muted">Loading…</p>}
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      <ul className="member-list">
        {members.map((m) => {
          const uid = idOf(m.user?.id ?? 0n);
          const p = presence[uid];
          const online = p?.online ?? false;
          // Presence is known from feed events only (see the report on Presence).
          const status = p
            ? online
              ? "online"
              : `offline${p.lastSeen ? ` · last seen ${friendlyTime(p.lastSeen, now)}` : ""}`
            : "";
          return (
            <li key={uid} className="member" data-testid="member" data-username={m.user?.username}>
              <span className="avatar-wrap">
                <Avatar user={m.user} id={uid} size={32} />
                <span
                  className={`dot ${p ? (online ? "online" : "offline") : "unknown"}`}
                  aria-hidden="true"
                />
              </span>
              <span className="member-text">
                <span className="member-name">
                  {displayName(m.user)}
                  {m.user?.displayName && <span className="handle">@{m.user.username}</span>}
                  {m.role !== MemberRole.MEMBER && (
                    <span className={`role role-${roleName(m.role)}`}>{roleName(m.role)}</span>
                  )}
                </span>
                <span className="muted small" data-testid="presence">
                  {status}
                </span>
                {m.mutedUntil && timestampDate(m.mutedUntil).getTime() > now.getTime() && (
                  <span className="muted small" data-testid="muted-until">
                    muted until {friendlyTime(timestampDate(m.mutedUntil), now)}
                  </span>
                )}
              </span>
              {actions(m)}
            </li>
          );
        })}
      </ul>
      {canModerate && (banned.data?.members.length ?? 0) > 0 && (
        <section className="banned" aria-label="Banned">
          <h3>Banned</h3>
          <ul className="member-list">
            {banned.data?.members.map((m) => {
              const uid = m.user?.id ?? 0n;
              const name = displayName(m.user);
              return (
                <li key={idOf(uid)} className="member" data-testid="banned-member">
                  <Avatar user={m.user} id={idOf(uid)} size={32} />
                  <span className="member-text">
                    <span className="member-name">
                      {name}
                      <span className="handle">@{m.user?.username}</span>
                    </span>
                  </span>
                  {!archived && (
                    <button
                      type="button"
                      onClick={() => act(c.unban(roomId, uid).then(() => banned.refetch()))}
                    >
                      Unban {name}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </section>
      )}
    </aside>
  );
}

/**
 * Dialogs: new room, public directory, new direct message, new group
 * conversation, invite, room settings (name, slow mode, archive).
 */
import { useQuery } from "@connectrpc/connect-query";
import { MemberRole, RoomService, type User, UserService, Visibility } from "@protochat/sdk";
import { type FormEvent, useEffect, useId, useState } from "react";
import { idOf } from "../state/chat-state.js";
import { errorText } from "../state/controller.js";
import { displayName } from "../util/format.js";
import { Avatar } from "./Avatar.js";
import { Dialog } from "./Dialog.js";
import { goToRoom, useChat, useController } from "./hooks.js";

function useDebounced<T>(value: T, ms = 250): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** Searches users by prefix; calls `onPick` with one. */
export function UserSearch({
  label,
  onPick,
  exclude = [],
}: {
  label: string;
  onPick: (u: User) => void;
  exclude?: bigint[];
}) {
  const [prefix, setPrefix] = useState("");
  const q = useDebounced(prefix.trim());
  const me = useChat((s) => s.me?.id);
  const id = useId();
  const { data, isFetching } = useQuery(
    UserService.method.searchUsers,
    { prefix: q, pageSize: 10 },
    { enabled: q.length > 0 },
  );
  const users = (data?.users ?? []).filter((u) => u.id !== me && !exclude.includes(u.id));
  return (
    <div className="user-search">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        autoComplete="off"
        placeholder="Username or name"
        value={prefix}
        onChange={(e) => setPrefix(e.target.value)}
      />
      {q && (
        <ul className="pick-list" aria-label="Matching people" aria-busy={isFetching}>
          {users.map((u) => (
            <li key={idOf(u.id)}>
              <button type="button" className="pick" onClick={() => onPick(u)}>
                <Avatar user={u} id={idOf(u.id)} size={28} />
                <span>
                  {displayName(u)} <span className="muted">@{u.username}</span>
                </span>
              </button>
            </li>
          ))}
          {!isFetching && data && users.length === 0 && <li className="muted">Nobody found</li>}
        </ul>
      )}
    </div>
  );
}

function Chips({ users, onRemove }: { users: User[]; onRemove: (u: User) => void }) {
  if (users.length === 0) return null;
  return (
    <ul className="chips" aria-label="Chosen people">
      {users.map((u) => (
        <li key={idOf(u.id)} className="chip">
          {displayName(u)}
          <button type="button" aria-label={`Remove ${displayName(u)}`} onClick={() => onRemove(u)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The error line a dialog shows after a failed request; nothing without an error. */
function ErrorAlert({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** A dialog form's foot: the error line, then Cancel and the primary submit button. */
function FormFooter({
  error,
  onCancel,
  submitLabel,
  disabled,
}: {
  error?: string;
  onCancel: () => void;
  submitLabel: string;
  disabled: boolean;
}) {
  return (
    <>
      <ErrorAlert error={error} />
      <div className="form-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={disabled}>
          {submitLabel}
        </button>
      </div>
    </>
  );
}

/**
 * Submit handling for a dialog form: runs `action`, keeps `busy` set while it runs (and after it
 * succeeds, as the dialog then closes), and on failure shows its error and clears `busy`.
 */
function useFormSubmit(action: () => Promise<void>) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }
  return { error, busy, submit };
}

export function CreateRoomDialog({ onClose }: { onClose: () => void }) {
  const c = useController();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState(Visibility.PUBLIC);
  const [invitees, setInvitees] = useState<User[]>([]);
  const ids = { name: useId(), desc: useId() };
  const { error, busy, submit } = useFormSubmit(async () => {
    const id = await c.createRoom(
      name.trim(),
      visibility,
      invitees.map((u) => u.id),
    );
    if (description.trim()) await c.renameRoom(id, name.trim(), description.trim()).catch(() => {});
    onClose();
    goToRoom(id);
  });
  return (
    <Dialog title="New room" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label htmlFor={ids.name}>Name</label>
        <input
          id={ids.name}
          required
          maxLength={80}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor={ids.desc}>Description (optional)</label>
        <input
          id={ids.desc}
          maxLength={1000}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <fieldset className="radios">
          <legend>Who can find it</legend>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === Visibility.PUBLIC}
              onChange={() => setVisibility(Visibility.PUBLIC)}
            />
            Public: listed, anyone can join
          </label>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === Visibility.PRIVATE}
              onChange={() => setVisibility(Visibility.PRIVATE)}
            />
            Private: invited people only
          </label>
        </fieldset>
        <UserSearch
          label="Invite people"
          exclude={invitees.map((u) => u.id)}
          onPick={(u) => setInvitees((l) => [...l, u])}
        />
        <Chips
          users={invitees}
          onRemove={(u) => setInvitees((l) => l.filter((x) => x.id !== u.id))}
        />
        <FormFooter
          error={error}
          onCancel={onClose}
          submitLabel="Create room"
          disabled={busy || !name.trim()}
        />
      </form>
    </Dialog>
  );
}

export function DirectoryDialog({ onClose }: { onClose: () => void }) {
  const c = useController();
  const rooms = useChat((s) => s.rooms);
  const [query, setQuery] = useState("");
  const q = useDebounced(query.trim());
  const [error, setError] = useState<string>();
  const id = useId();
  const { data, isFetching } = useQuery(RoomService.method.listPublicRooms, {
    query: q,
    pageSize: 50,
  });
  async function join(roomId: bigint) {
    try {
      const id = await c.joinRoom(roomId);
      onClose();
      goToRoom(id);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <Dialog title="Public rooms" onClose={onClose}>
      <label htmlFor={id}>Search rooms</label>
      <input
        id={id}
        type="search"
        autoComplete="off"
        placeholder="Room name"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <ErrorAlert error={error} />
      <ul className="directory" aria-label="Public rooms" aria-busy={isFetching}>
        {(data?.rooms ?? []).map((r) => {
          const member = rooms[idOf(r.id)] !== undefined;
          return (
            <li key={idOf(r.id)}>
              <div>
                <strong>{r.name}</strong>
                <span className="muted">
                  {" "}
                  · {r.memberCount} member{r.memberCount === 1 ? "" : "s"}
                </span>
                {r.description && <p className="muted small">{r.description}</p>}
              </div>
              {member ? (
                <button
                  type="button"
                  onClick={() => {
                    onClose();
                    goToRoom(idOf(r.id));
                  }}
                >
                  Open
                </button>
              ) : (
                <button
                  type="button"
                  className="primary"
                  aria-label={`Join ${r.name}`}
                  onClick={() => join(r.id)}
                >
                  Join
                </button>
              )}
            </li>
          );
        })}
        {data && data.rooms.length === 0 && <li className="muted">No public rooms found</li>}
      </ul>
    </Dialog>
  );
}

export function NewDirectDialog({ onClose }: { onClose: () => void }) {
  const c = useController();
  const [error, setError] = useState<string>();
  async function pick(u: User) {
    try {
      const id = await c.openDirect(u.id);
      onClose();
      goToRoom(id);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <Dialog title="New message" onClose={onClose}>
      <UserSearch label="Find a person" onPick={pick} />
      <ErrorAlert error={error} />
    </Dialog>
  );
}

export function InviteDialog({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const c = useController();
  const [invitees, setInvitees] = useState<User[]>([]);
  const [asked, setAsked] = useState<User[]>();
  const { error, submit } = useFormSubmit(async () => {
    const invited = await c.invite(
      roomId,
      invitees.map((u) => u.id),
    );
    // People who add only with consent got an invitation: say so before closing.
    if (invited.length > 0) setAsked(invitees.filter((u) => invited.includes(u.id)));
    else onClose();
  });
  if (asked) {
    return (
      <Dialog title="Invite people" onClose={onClose}>
        <p role="status">
          {asked.map((u) => displayName(u)).join(", ")} {asked.length === 1 ? "asks" : "ask"} before
          being added: an invitation was sent, to accept or decline.
        </p>
        <div className="form-actions">
          <button type="button" className="primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title="Invite people" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <UserSearch
          label="Find people"
          exclude={invitees.map((u) => u.id)}
          onPick={(u) => setInvitees((l) => [...l, u])}
        />
        <Chips
          users={invitees}
          onRemove={(u) => setInvitees((l) => l.filter((x) => x.id !== u.id))}
        />
        <FormFooter
          error={error}
          onCancel={onClose}
          submitLabel="Invite"
          disabled={invitees.length === 0}
        />
      </form>
    </Dialog>
  );
}

export function RoomSettingsDialog({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const c = useController();
  const room = useChat((s) => s.rooms[roomId]?.room);
  const owner = useChat((s) => s.rooms[roomId]?.role === MemberRole.OWNER);
  const [name, setName] = useState(room?.name ?? "");
  const [description, setDescription] = useState(room?.description ?? "");
  const [confirmArchive, setConfirmArchive] = useState(false);
  const ids = { name: useId(), desc: useId() };
  const { error, submit } = useFormSubmit(async () => {
    await c.renameRoom(roomId, name.trim(), description.trim());
    onClose();
  });
  const archive = useFormSubmit(async () => {
    await c.archiveRoom(roomId);
    onClose();
  });
  if (room?.archiveTime) {
    return (
      <Dialog title="Room settings" onClose={onClose}>
        <p>This room is archived: it is read-only for everyone, for good.</p>
      </Dialog>
    );
  }
  if (confirmArchive) {
    return (
      <Dialog title="Archive this room?" onClose={() => setConfirmArchive(false)}>
        <form onSubmit={archive.submit} className="form">
          <p>
            Nobody will be able to send, react, join or change anything in{" "}
            <strong>#{room?.name}</strong> again. Its history stays readable. This cannot be undone.
          </p>
          <ErrorAlert error={archive.error} />
          <div className="form-actions">
            <button type="button" onClick={() => setConfirmArchive(false)}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={archive.busy}>
              Archive room
            </button>
          </div>
        </form>
      </Dialog>
    );
  }
  return (
    <Dialog title="Room settings" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label htmlFor={ids.name}>Room name</label>
        <input
          id={ids.name}
          required
          maxLength={80}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor={ids.desc}>Description</label>
        <input
          id={ids.desc}
          maxLength={1000}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <FormFooter error={error} onCancel={onClose} submitLabel="Save" disabled={!name.trim()} />
      </form>
      <SlowModeSetting roomId={roomId} />
      {owner && (
        <div className="danger-zone">
          <h3>Archive</h3>
          <p className="muted small">Makes the room read-only for everyone, for good.</p>
          <button type="button" className="danger" onClick={() => setConfirmArchive(true)}>
            Archive room…
          </button>
        </div>
      )}
    </Dialog>
  );
}

/** Slow mode presets in seconds; 3 s is the seeds' default. */
export const SLOW_MODE_CHOICES = [0, 3, 10, 30, 60];
/** The server's upper bound (UpdateRoomRequest.slow_mode_seconds). */
const SLOW_MODE_MAX = 21_600;

/**
 * Slow mode, applied as soon as a preset is picked (one click); a custom
 * number of seconds with its own button.
 */
function SlowModeSetting({ roomId }: { roomId: string }) {
  const c = useController();
  const current = useChat((s) => s.rooms[roomId]?.room.slowModeSeconds ?? 0);
  const [chosen, setChosen] = useState<number>();
  const [custom, setCustom] = useState(() =>
    SLOW_MODE_CHOICES.includes(current) ? "" : String(current),
  );
  const [customOpen, setCustomOpen] = useState(false);
  const [error, setError] = useState<string>();
  const customId = useId();
  const shown = chosen ?? current;
  const preset = SLOW_MODE_CHOICES.includes(shown) && !customOpen;
  // The room event brings the new value: the local choice only bridges the wait.
  useEffect(() => {
    if (chosen === current) setChosen(undefined);
  }, [chosen, current]);
  function set(seconds: number) {
    setChosen(seconds);
    setError(undefined);
    c.setSlowMode(roomId, seconds).catch((err: unknown) => {
      setChosen(undefined);
      setError(errorText(err));
    });
  }
  const customValue = Number(custom);
  const customValid =
    Number.isInteger(customValue) && customValue >= 0 && customValue <= SLOW_MODE_MAX;
  return (
    <fieldset className="radios slow-mode">
      <legend>Slow mode</legend>
      <p className="muted small">
        Members may send one message per this many seconds. Owners and admins are exempt.
      </p>
      {SLOW_MODE_CHOICES.map((n) => (
        <label key={n}>
          <input
            type="radio"
            name={`slow-${roomId}`}
            checked={preset && shown === n}
            onChange={() => {
              setCustomOpen(false);
              set(n);
            }}
          />
          {n === 0 ? "Off" : `${n} s`}
        </label>
      ))}
      <label>
        <input
          type="radio"
          name={`slow-${roomId}`}
          checked={!preset}
          onChange={() => {
            setCustomOpen(true);
            setCustom(String(shown));
          }}
        />
        Custom
      </label>
      {!preset && (
        <div className="slow-custom">
          <label htmlFor={customId}>Seconds between messages</label>
          <input
            id={customId}
            type="number"
            min={0}
            max={SLOW_MODE_MAX}
            value={custom}
            onChange={(e) => setCustom(e.target.value)}
          />
          <button
            type="button"
            disabled={!customValid || custom === ""}
            onClick={() => {
              setCustomOpen(false);
              set(customValue);
            }}
          >
            Set
          </button>
        </div>
      )}
      <p className="muted small" data-testid="slow-mode-current">
        {current > 0 ? `Slow mode: ${current} s` : "Slow mode is off"}
      </p>
      <ErrorAlert error={error} />
    </fieldset>
  );
}

/** A group conversation of 3-10 people (the caller included), named or not. */
export function NewGroupDialog({ onClose }: { onClose: () => void }) {
  const c = useController();
  const [people, setPeople] = useState<User[]>([]);
  const [name, setName] = useState("");
  const nameId = useId();
  const [created, setCreated] = useState<{ id: string; asked: User[] }>();
  const { error, busy, submit } = useFormSubmit(async () => {
    const { id, invited } = await c.createGroupDirect(
      people.map((u) => u.id),
      name.trim() || undefined,
    );
    // People who add only with consent got an invitation: say so first.
    if (invited.length > 0) {
      setCreated({ id, asked: people.filter((u) => invited.includes(u.id)) });
      return;
    }
    onClose();
    goToRoom(id);
  });
  if (created) {
    const open = () => {
      onClose();
      goToRoom(created.id);
    };
    return (
      <Dialog title="New group" onClose={open}>
        <p role="status">
          {created.asked.map((u) => displayName(u)).join(", ")}{" "}
          {created.asked.length === 1 ? "asks" : "ask"} before being added: an invitation was sent,
          to accept or decline.
        </p>
        <div className="form-actions">
          <button type="button" className="primary" onClick={open}>
            Open the conversation
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title="New group" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <UserSearch
          label="Add people (2 to 9)"
          exclude={people.map((u) => u.id)}
          onPick={(u) => setPeople((l) => (l.length < 9 ? [...l, u] : l))}
        />
        <Chips users={people} onRemove={(u) => setPeople((l) => l.filter((x) => x.id !== u.id))} />
        <label htmlFor={nameId}>Name (optional)</label>
        <input id={nameId} maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />
        <FormFooter
          error={error}
          onCancel={onClose}
          submitLabel="Start group"
          disabled={busy || people.length < 2}
        />
      </form>
    </Dialog>
  );
}

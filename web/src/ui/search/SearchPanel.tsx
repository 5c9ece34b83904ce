/**
 * Message search (SearchService.SearchMessages) over the rooms one is in:
 * filters by room, sender, date, attachments and threads, by relevance or newest first; each hit
 * shows its snippet with the matched parts highlighted and opens its room at
 * the message.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type FormEvent, useEffect, useState } from "react";
import type { SearchHit } from "../../../../gen/chat/v1/search_pb.js";
import { SearchOrder } from "../../../../gen/chat/v1/search_pb.js";
import { idOf, sortedRooms } from "../../state/chat-state.js";
import { errorText } from "../../state/controller.js";
import { displayName, friendlyTime } from "../../util/format.js";
import { useChat, useController } from "../hooks.js";
import { roomTitle } from "../names.js";
import { openAt, setSearchOpen } from "./nav.js";
import { useServices } from "./services.js";
import { snippetParts } from "./snippet.js";
import "./search.css";

interface Query {
  query: string;
  roomId: string;
  senderId: string;
  after: string;
  before: string;
  /** "" any, "yes" only, "no" none (the request's optional has_attachment). */
  attachment: Tri;
  /** "" any, "yes" replies in threads only, "no" outside threads (optional in_thread). */
  thread: Tri;
  order: SearchOrder;
}

type Tri = "" | "yes" | "no";

/** An optional boolean filter from a three-way choice. */
const tri = (v: Tri): boolean | undefined => (v === "" ? undefined : v === "yes");

/** The last search, kept while moving between rooms (the panel remounts). */
let last: { q: Query; hits: SearchHit[] | undefined; next: string } | undefined;

export function SearchPanel() {
  const s = useServices();
  const c = useController();
  const rooms = useChat((st) => st.rooms);
  const users = useChat((st) => st.users);
  const me = useChat((st) => st.me?.id);
  const [q, setQ] = useState<Query>(
    () =>
      last?.q ?? {
        query: "",
        roomId: "",
        senderId: "",
        after: "",
        before: "",
        attachment: "",
        thread: "",
        order: SearchOrder.RELEVANCE,
      },
  );
  const [hits, setHits] = useState<SearchHit[] | undefined>(last?.hits);
  const [next, setNext] = useState(last?.next ?? "");
  useEffect(() => {
    last = { q, hits, next };
  }, [q, hits, next]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function run(pageToken: string) {
    if (!q.query.trim()) return;
    setBusy(true);
    try {
      const res = await s.search.searchMessages({
        query: q.query.trim(),
        roomId: q.roomId ? BigInt(q.roomId) : 0n,
        senderId: q.senderId ? BigInt(q.senderId) : 0n,
        afterTime: q.after ? timestampFromDate(new Date(`${q.after}T00:00:00`)) : undefined,
        beforeTime: q.before
          ? timestampFromDate(new Date(new Date(`${q.before}T00:00:00`).getTime() + 86_400_000))
          : undefined,
        hasAttachment: tri(q.attachment),
        inThread: tri(q.thread),
        order: q.order,
        pageSize: 20,
        pageToken,
      });
      c.ensureUsers(res.hits.map((h) => h.message?.senderId ?? 0n).filter((id) => id !== 0n));
      setHits((old) => (pageToken ? [...(old ?? []), ...res.hits] : res.hits));
      setNext(res.nextPageToken);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void run("");
  }

  const set = (patch: Partial<Query>) => setQ((old) => ({ ...old, ...patch }));
  const roomList = sortedRooms(rooms);
  const people = Object.values(users).sort((a, b) => displayName(a).localeCompare(displayName(b)));
  const now = new Date();

  return (
    <aside className="members-panel search-panel" aria-label="Search messages">
      <div className="panel-head">
        <h2>Search</h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close search"
          onClick={() => setSearchOpen(false)}
        >
          ×
        </button>
      </div>
      <form className="search-form" onSubmit={submit} aria-label="Search messages">
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          value={q.query}
          maxLength={200}
          onChange={(e) => set({ query: e.target.value })}
        />
        <label>
          Room
          <select value={q.roomId} onChange={(e) => set({ roomId: e.target.value })}>
            <option value="">All my rooms</option>
            {roomList.map((r) => (
              <option key={r.id} value={r.id}>
                {roomTitle(r, me)}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <select value={q.senderId} onChange={(e) => set({ senderId: e.target.value })}>
            <option value="">Anyone</option>
            {people.map((u) => (
              <option key={idOf(u.id)} value={idOf(u.id)}>
                {displayName(u)}
              </option>
            ))}
          </select>
        </label>
        <label>
          After
          <input type="date" value={q.after} onChange={(e) => set({ after: e.target.value })} />
        </label>
        <label>
          Before
          <input type="date" value={q.before} onChange={(e) => set({ before: e.target.value })} />
        </label>
        <label>
          Files
          <select value={q.attachment} onChange={(e) => set({ attachment: e.target.value as Tri })}>
            <option value="">With or without</option>
            <option value="yes">With attachments</option>
            <option value="no">Without attachments</option>
          </select>
        </label>
        <label>
          Threads
          <select value={q.thread} onChange={(e) => set({ thread: e.target.value as Tri })}>
            <option value="">Anywhere</option>
            <option value="yes">Thread replies</option>
            <option value="no">Not in threads</option>
          </select>
        </label>
        <label>
          Order
          <select
            value={q.order}
            onChange={(e) => set({ order: Number(e.target.value) as SearchOrder })}
          >
            <option value={SearchOrder.RELEVANCE}>Best match</option>
            <option value={SearchOrder.DATE}>Newest first</option>
          </select>
        </label>
        <button type="submit" className="primary" disabled={busy || !q.query.trim()}>
          Search
        </button>
      </form>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      {hits && hits.length === 0 && <p className="muted">No messages found.</p>}
      {hits && hits.length > 0 && (
        <ol className="search-hits" aria-label="Search results">
          {hits.map((h) => {
            const m = h.message;
            if (!m) return null;
            const roomId = idOf(m.roomId);
            const room = rooms[roomId];
            const time = m.createTime ? timestampDate(m.createTime) : undefined;
            return (
              <li key={`${roomId}-${m.seq}`}>
                <button
                  type="button"
                  className="search-hit"
                  data-testid="search-hit"
                  onClick={() => openAt(roomId, m.seq)}
                >
                  <span className="search-hit-head">
                    <span className="sender">
                      {displayName(users[idOf(m.senderId)], "Someone")}
                    </span>
                    {room && <span className="muted"> in {roomTitle(room, me)}</span>}
                    {time && <span className="muted small"> · {friendlyTime(time, now)}</span>}
                  </span>
                  <span className="search-snippet">
                    {snippetParts(h.snippet, h.highlights).map((p, i) =>
                      p.hit ? (
                        // biome-ignore lint/suspicious/noArrayIndexKey: parts of one snippet
                        <mark key={i}>{p.text}</mark>
                      ) : (
                        // biome-ignore lint/suspicious/noArrayIndexKey: parts of one snippet
                        <span key={i}>{p.text}</span>
                      ),
                    )}
                  </span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
      {next && (
        <button type="button" className="link-button" disabled={busy} onClick={() => run(next)}>
          More results
        </button>
      )}
    </aside>
  );
}

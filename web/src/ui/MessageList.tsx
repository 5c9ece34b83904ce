/**
 * The history of a room: newest at the bottom, older pages loaded when
 * scrolling up (the view stays on the message it showed), day separators,
 * and read markers moved as messages become visible.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { MemberRole, type Message, MessageKind } from "@protochat/sdk";
import { Fragment, useCallback, useEffect, useLayoutEffect, useRef } from "react";
import { dayLabel, sameDay } from "../util/format.js";
import { useChat, useController, useNow } from "./hooks.js";
import { MessageItem, PendingItem } from "./MessageItem.js";
import { systemText } from "./names.js";

const GROUP_MS = 5 * 60_000;

function dateOf(m: Message): Date {
  return m.createTime ? timestampDate(m.createTime) : new Date(0);
}

export function MessageList({
  roomId,
  onReply,
}: {
  roomId: string;
  onReply: (m: Message) => void;
}) {
  const c = useController();
  const r = useChat((s) => s.rooms[roomId]);
  const users = useChat((s) => s.users);
  const me = useChat((s) => s.me);
  const now = useNow(60_000);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const anchor = useRef<{ seq: string; offset: number } | undefined>(undefined);
  const scrolledInitially = useRef(false);

  const messages = r?.messages ?? [];
  const pending = r?.pending ?? [];
  const hasMoreBefore = r?.hasMoreBefore ?? false;
  const loaded = r?.historyLoaded ?? false;

  const loadOlder = useCallback(() => {
    const el = scroller.current;
    if (!el || !hasMoreBefore || c.isLoadingOlder(roomId)) return;
    // Remember where the first visible message is, to keep it in place.
    const top = el.getBoundingClientRect().top;
    for (const item of el.querySelectorAll<HTMLElement>("[data-seq]")) {
      const rect = item.getBoundingClientRect();
      if (rect.bottom > top) {
        anchor.current = { seq: item.dataset.seq ?? "", offset: rect.top - top };
        break;
      }
    }
    void c.loadOlder(roomId).catch(() => {});
  }, [c, roomId, hasMoreBefore]);

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    if (el.scrollTop < 200) loadOlder();
  }

  // Keep the view where it belongs after every change.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs after every change of the list
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !loaded) return;
    const a = anchor.current;
    if (a) {
      const item = el.querySelector<HTMLElement>(`[data-seq="${a.seq}"]`);
      const firstSeq = el.querySelector<HTMLElement>("[data-seq]")?.dataset.seq;
      if (item && firstSeq !== a.seq) {
        const offset = item.getBoundingClientRect().top - el.getBoundingClientRect().top;
        el.scrollTop += offset - a.offset;
        anchor.current = undefined;
        return;
      }
    }
    if (!scrolledInitially.current || atBottom.current) {
      el.scrollTop = el.scrollHeight;
      scrolledInitially.current = true;
      atBottom.current = true;
    }
  }, [messages, pending, loaded]);

  // The first page may not fill the screen: load more until it does.
  useEffect(() => {
    const el = scroller.current;
    if (el && loaded && hasMoreBefore && el.scrollHeight <= el.clientHeight + 10) loadOlder();
  }, [loaded, hasMoreBefore, loadOlder]);

  // Read markers follow what is actually on screen.
  // biome-ignore lint/correctness/useExhaustiveDependencies: observe the items again when they change
  useEffect(() => {
    const root = scroller.current;
    if (!root || typeof IntersectionObserver === "undefined") return;
    const visible = new Set<bigint>();
    const report = () => {
      if (globalThis.document?.visibilityState === "hidden") return;
      let max = 0n;
      for (const s of visible) if (s > max) max = s;
      if (max > 0n) c.markRead(roomId, max);
    };
    const io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const seq = BigInt((e.target as HTMLElement).dataset.seq ?? "0");
          const rootHeight = e.rootBounds?.height ?? 0;
          const seen =
            e.isIntersecting &&
            (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= rootHeight / 2);
          if (seen) visible.add(seq);
          else visible.delete(seq);
        }
        report();
      },
      { root, threshold: [0, 0.5, 1] },
    );
    for (const el of root.querySelectorAll("[data-seq]")) io.observe(el);
    document.addEventListener("visibilitychange", report);
    return () => {
      io.disconnect();
      document.removeEventListener("visibilitychange", report);
    };
  }, [c, roomId, messages]);

  if (!r) return null;
  const moderator = r.role === MemberRole.OWNER || r.role === MemberRole.ADMIN;
  let prev: Message | undefined;
  return (
    <div className="scroller" ref={scroller} onScroll={onScroll}>
      {!loaded && <p className="muted center">Loading messages…</p>}
      {loaded && hasMoreBefore && (
        <button type="button" className="link-button load-older" onClick={loadOlder}>
          Load older messages
        </button>
      )}
      {loaded && !hasMoreBefore && messages.length > 0 && (
        <p className="muted center small">This is the beginning of the conversation.</p>
      )}
      <ol className="messages" aria-label="Messages">
        {messages.map((m) => {
          const d = dateOf(m);
          const newDay = !prev || !sameDay(dateOf(prev), d);
          const grouped =
            !newDay &&
            prev !== undefined &&
            prev.kind !== MessageKind.SYSTEM &&
            m.kind !== MessageKind.SYSTEM &&
            prev.senderId === m.senderId &&
            d.getTime() - dateOf(prev).getTime() < GROUP_MS;
          prev = m;
          return (
            <Fragment key={m.seq.toString()}>
              {newDay && (
                <li className="day" aria-label={dayLabel(d, now)}>
                  <span>{dayLabel(d, now)}</span>
                </li>
              )}
              {m.kind === MessageKind.SYSTEM ? (
                <li className="system" data-seq={m.seq.toString()}>
                  {systemText(m, users)}
                </li>
              ) : (
                <MessageItem
                  roomId={roomId}
                  message={m}
                  grouped={grouped}
                  me={me}
                  users={users}
                  moderator={moderator}
                  now={now}
                  onReply={onReply}
                />
              )}
            </Fragment>
          );
        })}
        {pending.map((p) => (
          <PendingItem key={p.clientMsgId} roomId={roomId} pending={p} me={me} users={users} />
        ))}
      </ol>
    </div>
  );
}

/**
 * Brings the message a search hit (or a pin) points at into view in its
 * room and highlights it: from the loaded history when it is there, else
 * from ListMessages(around_seq) when that page reaches the newest message,
 * else by loading older pages until it is there.
 */
import { useEffect, useState } from "react";
import { historyLoaded } from "../../state/chat-state.js";
import { useChat, useController } from "../hooks.js";
import { focusDone, useNav } from "./nav.js";
import { useServices } from "./services.js";

const MAX_OLDER_PAGES = 20;

export function FocusMessage({ roomId }: { roomId: string }) {
  const c = useController();
  const s = useServices();
  const { focus } = useNav();
  const loaded = useChat((st) => st.rooms[roomId]?.historyLoaded ?? false);
  const [note, setNote] = useState<string>();

  useEffect(() => {
    if (!focus || focus.roomId !== roomId || !loaded) return;
    let cancelled = false;
    const has = () => c.state.rooms[roomId]?.messages.some((m) => m.seq === focus.seq) ?? false;
    (async () => {
      if (!has()) {
        const r = c.state.rooms[roomId];
        if (!r) return;
        const page = await s.messages.listMessages({
          roomId: r.room.id,
          anchor: { case: "aroundSeq", value: focus.seq },
          limit: 50,
        });
        if (cancelled) return;
        if (!page.hasMoreAfter) c.store.update((st) => historyLoaded(st, roomId, page, "latest"));
        for (let i = 0; i < MAX_OLDER_PAGES && !has() && !cancelled; i++) {
          if (!(await c.loadOlder(roomId))) break;
        }
      }
      if (cancelled) return;
      if (!has()) {
        setNote("That message is no longer in this room's history.");
        focusDone(focus.n);
        return;
      }
      setNote(undefined);
      // Let the list render, then scroll (again, after the list settles).
      const show = () => {
        const el = document.querySelector<HTMLElement>(
          `.room-view .scroller [data-seq="${focus.seq.toString()}"]`,
        );
        if (!el) return false;
        for (const old of document.querySelectorAll<HTMLElement>("[data-hit]")) {
          if (old !== el) delete old.dataset.hit;
        }
        el.dataset.hit = "true";
        el.scrollIntoView({ block: "center" });
        return true;
      };
      for (const ms of [0, 50, 200, 600]) {
        await new Promise((res) => setTimeout(res, ms));
        if (cancelled) return;
        show();
      }
      focusDone(focus.n);
    })().catch((err: unknown) => {
      if (!cancelled) setNote(`Could not open the message: ${String(err)}`);
    });
    return () => {
      cancelled = true;
    };
  }, [c, s, focus, roomId, loaded]);

  return note ? (
    <p className="muted small focus-note" role="status">
      {note}
    </p>
  ) : null;
}

/**
 * The composer's side of limits: the room's send block (rate limit, slow
 * mode, mute; see state/send-blocks.ts), a countdown to its end, and the
 * line that says why sending waits.
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import { type SendBlock, secondsLeft } from "../../state/send-blocks.js";
import { friendlyTime } from "../../util/format.js";
import { useController } from "../hooks.js";
import "./limits.css";

/** The room's send block, if any; re-renders when it changes. */
export function useSendBlock(roomId: string): SendBlock | undefined {
  const c = useController();
  return useSyncExternalStore(
    c.blocks.subscribe,
    () => c.blocks.getState()[roomId],
    () => c.blocks.getState()[roomId],
  );
}

/**
 * Whole seconds until `block` ends (0: sends may go), ticking while it runs.
 * Ticks four times a second so the number changes close to each second.
 */
export function useSecondsLeft(block: SendBlock | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  const until = block?.until ?? 0;
  useEffect(() => {
    setNow(Date.now());
    if (until <= Date.now()) return;
    const t = setInterval(() => {
      const n = Date.now();
      setNow(n);
      if (n >= until) clearInterval(t);
    }, 250);
    return () => clearInterval(t);
  }, [until]);
  return secondsLeft(block, now);
}

/** Why sending waits, and for how long; nothing when it does not. */
export function SendLimitNotice({ block, left }: { block: SendBlock | undefined; left: number }) {
  if (!block || left <= 0) return null;
  const text =
    block.kind === "muted"
      ? `You are muted in this room until ${friendlyTime(new Date(block.until))}.` +
        (left <= 60 ? ` You can send again in ${left} s.` : "")
      : `You can send again in ${left} s`;
  return (
    <p className="send-limit small" role="status" data-testid="send-limit" data-kind={block.kind}>
      {text}
    </p>
  );
}

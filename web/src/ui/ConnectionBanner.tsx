import { useEffect, useState } from "react";
import { useChat, useController } from "./hooks.js";

/** Shown while the feed is down: when it retries, and a way to retry now. */
export function ConnectionBanner() {
  const c = useController();
  const conn = useChat((s) => s.connection);
  const [, setTick] = useState(0);
  useEffect(() => {
    if (conn.state !== "waiting") return;
    const t = setInterval(() => setTick((n) => n + 1), 1_000);
    return () => clearInterval(t);
  }, [conn.state]);

  let text: string | undefined;
  let action: { label: string; run: () => void } | undefined;
  if (conn.state === "waiting") {
    const secs = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
    text = secs > 0 ? `Disconnected. Reconnecting in ${secs} s…` : "Disconnected. Reconnecting…";
    action = { label: "Retry now", run: () => c.feed.retryNow() };
  } else if (conn.state === "connecting" && conn.attempt > 0) {
    text = "Disconnected. Reconnecting…";
  } else if (conn.state === "stopped") {
    text = `Disconnected: ${conn.error || "the live feed stopped"}.`;
    action = { label: "Reload", run: () => globalThis.location.reload() };
  }
  return (
    <div className="banner-slot" role="status" aria-live="polite">
      {text && (
        <div className="banner" data-testid="connection-banner">
          <span>{text}</span>
          {action && (
            <button type="button" onClick={action.run}>
              {action.label}
            </button>
          )}
        </div>
      )}
    </div>
  );
}

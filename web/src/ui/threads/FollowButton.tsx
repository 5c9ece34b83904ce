/**
 * The thread panel's Follow / Following toggle (ThreadService.SetThreadFollowing).
 * A followed thread is in the Threads menu and shows an unread badge on its
 * root; the followed list is refreshed after each change so both update.
 */
import { useState } from "react";
import { errorText } from "../../state/controller.js";
import { useClients } from "../files/context.js";
import { useRefreshFollowed } from "./followed.js";

export function FollowButton({
  rootId,
  following,
  onChange,
}: {
  rootId: bigint;
  following: boolean;
  onChange: (following: boolean) => void;
}) {
  const clients = useClients();
  const refreshFollowed = useRefreshFollowed();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function toggle() {
    const next = !following;
    setBusy(true);
    setError(undefined);
    try {
      await clients.threads.setThreadFollowing({ rootMessageId: rootId, following: next });
      onChange(next);
      refreshFollowed();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}
      <button
        type="button"
        className="follow-button"
        data-testid="thread-follow"
        aria-pressed={following}
        title={
          following
            ? "Unfollow: its replies no longer count as unread for you"
            : "Follow: its replies count as unread for you"
        }
        disabled={busy}
        onClick={() => void toggle()}
      >
        {following ? "Following" : "Follow"}
      </button>
    </>
  );
}

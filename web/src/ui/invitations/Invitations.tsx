/**
 * Pending invitations (ConsentService): people whose privacy setting asks
 * for consent are invited rather than added; here they accept (and join) or
 * decline. No feed event announces an invitation, so the list is polled.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createConnectQueryKey, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConsentService } from "../../../../gen/chat/v1/consent_pb.js";
import { idOf } from "../../state/chat-state.js";
import { errorText } from "../../state/controller.js";
import { displayName, friendlyTime } from "../../util/format.js";
import { goToRoom, useController, useNow } from "../hooks.js";
import { useLimitServices } from "../limits/services.js";

/** How often the list is asked for again while the app is open. */
export const INVITATIONS_POLL_MS = 10_000;

/** The sidebar's section of pending invitations; nothing when there are none. */
export function InvitationList() {
  const c = useController();
  const { consent } = useLimitServices();
  const queryClient = useQueryClient();
  const now = useNow();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<bigint>();
  const { data } = useQuery(
    ConsentService.method.listInvitations,
    {},
    { refetchInterval: INVITATIONS_POLL_MS, staleTime: 0 },
  );
  const list = data?.invitations ?? [];
  if (list.length === 0 && !error) return null;

  async function answer(id: bigint, accept: boolean) {
    setBusy(id);
    try {
      if (accept) {
        const res = await consent.acceptInvitation({ invitationId: id });
        await c.loadRooms(false).catch(() => {});
        if (res.room) goToRoom(idOf(res.room.id));
      } else {
        await consent.declineInvitation({ invitationId: id });
      }
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(undefined);
      await queryClient.invalidateQueries({
        queryKey: createConnectQueryKey({
          schema: ConsentService.method.listInvitations,
          cardinality: undefined,
        }),
      });
    }
  }

  return (
    <section className="invitations" aria-label="Invitations">
      <h2>
        Invitations{" "}
        <span className="badge" data-testid="invitation-badge">
          {list.length}
        </span>
      </h2>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      <ul>
        {list.map((inv) => {
          const room = inv.room;
          const title = room?.name || "a conversation";
          return (
            <li key={idOf(inv.id)} data-testid="invitation" data-room-name={room?.name}>
              <p>
                <strong>{displayName(inv.inviter)}</strong>{" "}
                <span className="muted">@{inv.inviter?.username}</span> invites you to{" "}
                <strong>{title}</strong>
                {inv.createTime && (
                  <span className="muted small">
                    {" "}
                    · {friendlyTime(timestampDate(inv.createTime), now)}
                  </span>
                )}
              </p>
              <div className="invitation-actions">
                <button
                  type="button"
                  className="primary"
                  disabled={busy === inv.id}
                  aria-label={`Accept invitation to ${title}`}
                  onClick={() => answer(inv.id, true)}
                >
                  Accept
                </button>
                <button
                  type="button"
                  disabled={busy === inv.id}
                  aria-label={`Decline invitation to ${title}`}
                  onClick={() => answer(inv.id, false)}
                >
                  Decline
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** Small avatars of who has read up to a message (DMs and small rooms). */
import { MessageKind } from "@protochat/sdk";
import { useMemo } from "react";
import type { Id } from "../../state/chat-state.js";
import { displayName } from "../../util/format.js";
import { Avatar } from "../Avatar.js";
import { useChat, useController } from "../hooks.js";
import { seenAt, useFollowReceipts, useReceipts } from "./receipts.js";
import "./receipts.css";

/** Rooms with more members show no receipts. */
export const SEEN_BY_MAX_MEMBERS = 20;
const SHOWN = 5;

function useSeenMap(roomId: Id): Map<bigint, Id[]> | undefined {
  const small = useChat((s) => (s.rooms[roomId]?.room.memberCount ?? 0) <= SEEN_BY_MAX_MEMBERS);
  const messages = useChat((s) => s.rooms[roomId]?.messages);
  const me = useChat((s) => s.me?.id.toString());
  const readers = useReceipts(roomId);
  return useMemo(
    () =>
      small && messages
        ? seenAt(
            messages.filter((m) => m.kind !== MessageKind.SYSTEM),
            readers,
            me,
          )
        : undefined,
    [small, messages, readers, me],
  );
}

/** Keeps a shown room's receipts loaded and live. */
export function ReceiptsFollower({ roomId }: { roomId: Id }) {
  const small = useChat((s) => (s.rooms[roomId]?.room.memberCount ?? 0) <= SEEN_BY_MAX_MEMBERS);
  return small ? <Follow roomId={roomId} /> : null;
}

function Follow({ roomId }: { roomId: Id }) {
  useFollowReceipts(roomId);
  return null;
}

export function SeenBy({ roomId, seq }: { roomId: Id; seq: bigint }) {
  const c = useController();
  const ids = useSeenMap(roomId)?.get(seq);
  const users = useChat((s) => s.users);
  if (!ids || ids.length === 0) return null;
  const missing = ids.filter((id) => !users[id]);
  if (missing.length > 0) queueMicrotask(() => c.ensureUsers(missing.map((id) => BigInt(id))));
  const names = ids.map((id) => displayName(users[id], "Someone"));
  const label = `Seen by ${names.join(", ")}`;
  return (
    <div className="seen-by" data-testid="seen-by" title={label}>
      <span className="visually-hidden">{label}</span>
      {ids.slice(0, SHOWN).map((id) => (
        <span key={id} className="seen-by-avatar" data-user-id={id}>
          <Avatar user={users[id]} id={id} size={16} />
        </span>
      ))}
      {ids.length > SHOWN && <span className="muted small">+{ids.length - SHOWN}</span>}
    </div>
  );
}

/**
 * A room's pinned messages: ListPinnedMessages while the room is shown, again
 * on each message_pinned / message_unpinned / pin_policy_changed room event
 * and after every feed `ready`.
 */
import { useEffect, useSyncExternalStore } from "react";
import type { PinnedMessage } from "../../../../gen/chat/v1/pins_pb.js";
import type { Id } from "../../state/chat-state.js";
import { useController } from "../hooks.js";
import { type Services, useServices } from "../search/services.js";

export interface RoomPins {
  pins: PinnedMessage[];
  membersCanPin: boolean;
}

let pins: Record<Id, RoomPins> = {};
const listeners = new Set<() => void>();

export function usePins(roomId: Id): RoomPins | undefined {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => pins[roomId],
    () => pins[roomId],
  );
}

export async function reloadPins(s: Services, roomId: Id): Promise<void> {
  const res = await s.pins.listPinnedMessages({ roomId: BigInt(roomId) });
  pins = { ...pins, [roomId]: { pins: res.pins, membersCanPin: res.membersCanPin } };
  for (const l of listeners) l();
}

const PIN_CHANGES = new Set(["messagePinned", "messageUnpinned", "pinPolicyChanged"]);

export function useFollowPins(roomId: Id): void {
  const c = useController();
  const s = useServices();
  useEffect(() => {
    const load = () => void reloadPins(s, roomId).catch(() => {});
    const on = (ev: import("@protochat/sdk").FeedEvent) => {
      const e = ev.event;
      if (e.case === "ready") load();
      else if (
        e.case === "roomEvent" &&
        e.value.roomId.toString() === roomId &&
        PIN_CHANGES.has(e.value.change.case ?? "")
      ) {
        load();
      }
    };
    c.feedListeners.add(on);
    load();
    return () => {
      c.feedListeners.delete(on);
    };
  }, [c, s, roomId]);
}

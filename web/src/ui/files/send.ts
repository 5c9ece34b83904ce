/** Sends a message with attachments or in a thread (not optimistic: the answer is shown). */
import type { Clients } from "../../api/clients.js";
import { pendingSent } from "../../state/chat-state.js";
import type { ChatController } from "../../state/controller.js";

export async function sendMessageWith(
  clients: Clients,
  c: ChatController,
  roomId: string,
  o: { text: string; attachmentIds?: bigint[]; replyToId?: bigint; threadRootId?: bigint },
): Promise<void> {
  const r = c.state.rooms[roomId];
  if (!r) return;
  const res = await clients.messages.sendMessage({
    roomId: r.room.id,
    text: o.text,
    clientMsgId: crypto.randomUUID(),
    replyToId: o.replyToId ?? 0n,
    attachmentIds: o.attachmentIds ?? [],
    threadRootId: o.threadRootId ?? 0n,
  });
  const m = res.message;
  if (m) c.store.update((s) => pendingSent(s, roomId, m));
}

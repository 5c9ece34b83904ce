/**
 * The app's chat client: the SDK's generated clients of every service and
 * its resumable feed, on the app's transport (which adds the token).
 */

import type { Transport } from "@connectrpc/connect";
import { type ChatClient, createChatClientFromTransport } from "@protochat/sdk";

/** What the app calls the server with. */
export type Clients = ChatClient;

export function createClients(transport: Transport): Clients {
  return createChatClientFromTransport({ transport });
}

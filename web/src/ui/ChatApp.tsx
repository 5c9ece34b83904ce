/**
 * The signed-in app: one controller (room list, one feed stream, history),
 * TanStack Query for the lists the feed does not carry (directory, user
 * search, members), and the two-pane layout (one pane at phone width).
 */

import type { Transport } from "@connectrpc/connect";
import { createConnectQueryKey, TransportProvider } from "@connectrpc/connect-query";
import type { User } from "@protochat/sdk";
import { RoomService } from "@protochat/sdk";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { Clients } from "../api/clients.js";
import { ChatController } from "../state/controller.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { ClientsContext } from "./files/context.js";
import { ChatContext, useChat, useHashRoute } from "./hooks.js";
import { RoomView } from "./RoomView.js";
import { Sidebar } from "./Sidebar.js";

export interface ChatAppProps {
  transport: Transport;
  clients: Clients;
  me: User | undefined;
  onSignOut: (message?: string) => void;
  /** Options for tests (fake timers, ids). */
  controllerOptions?: Partial<ConstructorParameters<typeof ChatController>[0]>;
}

export function ChatApp({ transport, clients, me, onSignOut, controllerOptions }: ChatAppProps) {
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 10_000 } } }),
  );
  const [controller, setController] = useState<ChatController>();
  useEffect(() => {
    const c = new ChatController({
      clients,
      me,
      onUnauthenticated: () =>
        onSignOut("Your session has ended (it expired or was signed out). Please log in again."),
      onMembersChanged: () =>
        void queryClient.invalidateQueries({
          queryKey: createConnectQueryKey({
            schema: RoomService.method.listMembers,
            cardinality: undefined,
          }),
        }),
      ...controllerOptions,
    });
    setController(c);
    void c.start();
    return () => c.stop();
  }, [clients, me, onSignOut, queryClient, controllerOptions]);

  if (!controller) return <div className="loading">Loading…</div>;
  return (
    <TransportProvider transport={transport}>
      <QueryClientProvider client={queryClient}>
        <ChatContext.Provider value={controller}>
          <ClientsContext.Provider value={clients}>
            <Shell onSignOut={onSignOut} clients={clients} />
          </ClientsContext.Provider>
        </ChatContext.Provider>
      </QueryClientProvider>
    </TransportProvider>
  );
}

function Shell({ onSignOut, clients }: { onSignOut: (m?: string) => void; clients: Clients }) {
  const { roomId } = useHashRoute();
  const exists = useChat((s) => (roomId ? s.rooms[roomId] !== undefined : false));
  const loaded = useChat((s) => s.roomsLoaded);
  const open = roomId && (exists || !loaded) ? roomId : undefined;
  return (
    <div className={`shell ${open ? "room-open" : "list-open"}`}>
      <ConnectionBanner />
      <Sidebar currentRoomId={open} onSignOut={onSignOut} clients={clients} />
      <main className="main" aria-label="Conversation">
        {open ? (
          <RoomView key={open} roomId={open} />
        ) : (
          <div className="empty-main">
            {roomId && loaded ? (
              <p>You are not a member of this room (any more).</p>
            ) : (
              <p>Pick a conversation, browse public rooms or start a new one.</p>
            )}
          </div>
        )}
      </main>
    </div>
  );
}

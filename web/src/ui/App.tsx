/**
 * The app: the login screen while signed out, the chat while signed in.
 * The session (token and user) survives reloads; an Unauthenticated answer
 * to a signed-in call (token revoked or expired) signs out with a message.
 */
import type { ConnectError, Transport } from "@connectrpc/connect";
import type { User } from "@protochat/sdk";
import { useCallback, useMemo, useRef, useState } from "react";
import { type Clients, createClients } from "../api/clients.js";
import { clearSession, loadSession, saveSession } from "../api/session.js";
import { browserTransport } from "../api/transport.js";
import { ChatApp } from "./ChatApp.js";
import { LoginScreen } from "./LoginScreen.js";

export interface AppProps {
  /** Builds the transport; tests pass an in-memory one. */
  makeTransport?: (hooks: {
    token(): string | undefined;
    onUnauthenticated(err: ConnectError): void;
  }) => Transport;
}

interface Session {
  token: string;
  user: User | undefined;
}

export function App({ makeTransport = browserTransport }: AppProps) {
  const [session, setSession] = useState<Session | undefined>(() => loadSession());
  const [notice, setNotice] = useState<string | undefined>();
  const tokenRef = useRef(session?.token);
  tokenRef.current = session?.token;

  const signOut = useCallback((message?: string) => {
    clearSession();
    tokenRef.current = undefined;
    setSession(undefined);
    setNotice(message);
  }, []);

  const transport = useMemo(
    () =>
      makeTransport({
        token: () => tokenRef.current,
        onUnauthenticated: () =>
          signOut("Your session has ended (it expired or was signed out). Please log in again."),
      }),
    [makeTransport, signOut],
  );
  const clients: Clients = useMemo(() => createClients(transport), [transport]);

  const signIn = useCallback((token: string, user: User | undefined) => {
    saveSession(token, user);
    tokenRef.current = token;
    setNotice(undefined);
    setSession({ token, user });
  }, []);

  if (!session) {
    return <LoginScreen clients={clients} notice={notice} onSignedIn={signIn} />;
  }
  return (
    <ChatApp
      key={session.token}
      transport={transport}
      clients={clients}
      me={session.user}
      onSignOut={signOut}
    />
  );
}

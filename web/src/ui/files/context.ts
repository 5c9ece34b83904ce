/** The app's clients for the file and thread UI (provided by ChatApp). */
import { createContext, useContext } from "react";
import type { Clients } from "../../api/clients.js";

export const ClientsContext = createContext<Clients | undefined>(undefined);

export function useClients(): Clients {
  const c = useContext(ClientsContext);
  if (!c) throw new Error("useClients outside ClientsContext");
  return c;
}

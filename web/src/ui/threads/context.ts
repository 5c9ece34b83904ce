/** Opening a thread from a message (provided by RoomView). */
import type { Message } from "@protochat/sdk";
import { createContext, useContext } from "react";

export interface ThreadActions {
  openThread(root: Message): void;
  /** The thread on screen, if any. */
  openRootId: bigint | undefined;
}

export const ThreadContext = createContext<ThreadActions | undefined>(undefined);

export function useThreads(): ThreadActions | undefined {
  return useContext(ThreadContext);
}

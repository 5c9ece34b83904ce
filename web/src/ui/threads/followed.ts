/** The caller's followed threads (unread counts), refreshed on thread activity. */
import type { ThreadState } from "@protochat/sdk";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { useClients } from "../files/context.js";

export const FOLLOWED_KEY = ["protochat", "followedThreads"];

export function useFollowedThreads(): ThreadState[] {
  const clients = useClients();
  const q = useQuery({
    queryKey: FOLLOWED_KEY,
    queryFn: async () => (await clients.threads.listFollowedThreads({ limit: 100 })).threads,
    refetchInterval: 30_000,
    staleTime: 2_000,
  });
  return q.data ?? [];
}

export function useRefreshFollowed(): () => void {
  const qc = useQueryClient();
  return useCallback(() => void qc.invalidateQueries({ queryKey: FOLLOWED_KEY }), [qc]);
}

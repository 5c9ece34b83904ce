/** The ModerationService client (blocks, reports, mutes) on the app's transport. */
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { ModerationService } from "../../../../gen/chat/v1/moderation_pb.js";

export function useModeration() {
  const transport = useTransport();
  return useMemo(() => createClient(ModerationService, transport), [transport]);
}

export type Moderation = ReturnType<typeof useModeration>;

/**
 * Clients of the moderation and consent services (the SDK's ChatClient does
 * not carry them), on the app's transport.
 */
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { ConsentService } from "../../../../gen/chat/v1/consent_pb.js";
import { ModerationService } from "../../../../gen/chat/v1/moderation_pb.js";

/** The moderation and consent clients. */
export function useLimitServices() {
  const transport = useTransport();
  return useMemo(
    () => ({
      moderation: createClient(ModerationService, transport),
      consent: createClient(ConsentService, transport),
    }),
    [transport],
  );
}

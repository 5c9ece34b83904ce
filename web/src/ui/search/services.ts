/**
 * Clients of the services the SDK's ChatClient does not carry yet (search,
 * receipts, pins), on the app's transport.
 */
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { MessageService } from "@protochat/sdk";
import { useMemo } from "react";
import { PinService } from "../../../../gen/chat/v1/pins_pb.js";
import { ReceiptService } from "../../../../gen/chat/v1/receipts_pb.js";
import { SearchService } from "../../../../gen/chat/v1/search_pb.js";

export function useServices() {
  const transport = useTransport();
  return useMemo(
    () => ({
      search: createClient(SearchService, transport),
      receipts: createClient(ReceiptService, transport),
      pins: createClient(PinService, transport),
      messages: createClient(MessageService, transport),
    }),
    [transport],
  );
}

export type Services = ReturnType<typeof useServices>;

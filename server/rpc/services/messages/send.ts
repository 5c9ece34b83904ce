/** MessageService: new messages and custom events, through the group-committed send path. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CustomPayloadSchema,
  type MessageService,
  SendCustomEventResponseSchema,
  SendMessageResponseSchema,
} from "../../../../gen/chat/v1/message_pb.js";
import { encodeCustomPayload } from "../../../domain/message-view.js";
import { invalidArgument } from "../../../platform/errors.js";
import type { MessageServiceDeps } from "./shared.js";
import { badCharacters, checkText, me } from "./shared.js";

/** Burst and sustained: both are taken for each send (one round trip each, in parallel). */
const sendLimits = ["sendBurst", "sendSustained"] as const;

/** sendMessage, sendCustomEvent. */
export function sendMethods({
  writer,
  limits,
}: MessageServiceDeps): Pick<
  ServiceImpl<typeof MessageService>,
  "sendMessage" | "sendCustomEvent"
> {
  return {
    async sendMessage(req, ctx) {
      // A message of files alone may have no text.
      const text =
        req.attachmentIds.length > 0 && req.text.trim() === "" ? "" : checkText(req.text);
      await limits.checkAll(sendLimits, me(ctx));
      const res = await writer.send(
        {
          roomId: req.roomId,
          senderId: me(ctx),
          clientMsgId: req.clientMsgId,
          kind: "TEXT",
          text,
          payload: null,
          replyToId: req.replyToId,
          minRole: "MEMBER",
          attachmentIds: req.attachmentIds,
          threadRootId: req.threadRootId,
        },
        ctx.signal,
      );
      return create(SendMessageResponseSchema, res);
    },
    async sendCustomEvent(req, ctx) {
      const userId = me(ctx);
      const body = req.body;
      if (body.case === undefined) {
        throw invalidArgument([{ field: "body", description: "set json or data" }]);
      }
      if (body.case === "json") {
        const bad = badCharacters(body.value);
        let ok = bad === undefined;
        if (ok) {
          try {
            JSON.parse(body.value);
          } catch {
            ok = false;
          }
        }
        if (!ok) {
          throw invalidArgument([{ field: "json", description: bad ?? "must be valid JSON text" }]);
        }
      }
      await limits.checkAll(sendLimits, userId);
      const payload = create(CustomPayloadSchema, { type: req.type, body });
      const res = await writer.send(
        {
          roomId: req.roomId,
          senderId: userId,
          clientMsgId: req.clientMsgId,
          kind: "CUSTOM",
          text: "",
          payload: encodeCustomPayload(payload),
          replyToId: 0n,
          minRole: "ADMIN",
          attachmentIds: [],
        },
        ctx.signal,
      );
      return create(SendCustomEventResponseSchema, res);
    },
  };
}

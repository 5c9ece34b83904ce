/** chat.v1.ModerationService: mutes (timeouts), through domain/moderation/mute.ts. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ModerationService,
  MuteMemberResponseSchema,
  UnmuteMemberResponseSchema,
} from "../../../gen/chat/v1/moderation_pb.js";
import { setMute } from "../../domain/moderation/mute.js";
import type { RoomWriter } from "../../domain/room-writer.js";
import { callerOf } from "../context.js";

/** Dependencies of the moderation service. */
export interface ModerationServiceDeps {
  writer: RoomWriter;
}

/** Creates the ModerationService implementation. */
export function createModerationService({
  writer,
}: ModerationServiceDeps): ServiceImpl<typeof ModerationService> {
  return {
    async muteMember(req, ctx) {
      const me = callerOf(ctx).userId;
      const r = await writer.change(req.roomId, (c) =>
        setMute(c, me, req.userId, req.durationSeconds),
      );
      return create(MuteMemberResponseSchema, {
        seq: r.seq,
        until: r.until ? timestampFromDate(r.until) : undefined,
      });
    },
    async unmuteMember(req, ctx) {
      const me = callerOf(ctx).userId;
      const r = await writer.change(req.roomId, (c) => setMute(c, me, req.userId, null));
      return create(UnmuteMemberResponseSchema, { seq: r.seq });
    },
  };
}

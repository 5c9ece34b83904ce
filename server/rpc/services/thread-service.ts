/** chat.v1.ThreadService: thread pages, followed threads, thread read markers. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ListFollowedThreadsResponseSchema,
  ListThreadMessagesResponseSchema,
  MarkThreadReadResponseSchema,
  SetThreadFollowingResponseSchema,
  type ThreadService,
} from "../../../gen/chat/v1/thread_pb.js";
import type { Threads } from "../../domain/threads/threads.js";
import { callerOf } from "../context.js";

const defaultPage = 50;

/** Creates the ThreadService implementation. */
export function createThreadService(threads: Threads): ServiceImpl<typeof ThreadService> {
  return {
    async listThreadMessages(req, ctx) {
      const page = await threads.page(
        callerOf(ctx).userId,
        req.rootMessageId,
        req.afterSeq,
        req.limit || defaultPage,
      );
      return create(ListThreadMessagesResponseSchema, page);
    },
    async listFollowedThreads(req, ctx) {
      const list = await threads.followed(callerOf(ctx).userId, req.limit || defaultPage);
      return create(ListFollowedThreadsResponseSchema, { threads: list });
    },
    async markThreadRead(req, ctx) {
      const thread = await threads.markRead(callerOf(ctx).userId, req.rootMessageId, req.seq);
      return create(MarkThreadReadResponseSchema, { thread });
    },
    async setThreadFollowing(req, ctx) {
      await threads.setFollowing(callerOf(ctx).userId, req.rootMessageId, req.following);
      return create(SetThreadFollowingResponseSchema, {});
    },
  };
}

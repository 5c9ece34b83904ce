/**
 * chat.v1.SearchService: message search (domain/search/).
 *
 * Decisions the contract leaves to us (docs/search.md):
 * - Without `room_id` only rooms the caller is a JOINED member of are
 *   searched, not every public room; a public room is searched by naming it.
 * - `has_attachment` counts any attached upload; `in_thread` true means a
 *   thread reply (a thread's root is outside the thread, as in ListMessages).
 * - DATE order is newest first by message id (ids grow with commit order).
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  HighlightRangeSchema,
  SearchHitSchema,
  SearchMessagesResponseSchema,
  SearchOrder,
  type SearchService,
} from "../../../gen/chat/v1/search_pb.js";
import { searchMessages } from "../../domain/search/message-search.js";
import type { PrismaClient } from "../../store/prisma.js";
import { callerOf } from "../context.js";

/** Page size when the request leaves it 0. */
export const defaultSearchPageSize = 20;

/** Creates the SearchService implementation. */
export function createSearchService({
  prisma,
}: {
  prisma: PrismaClient;
}): ServiceImpl<typeof SearchService> {
  return {
    async searchMessages(req, ctx) {
      const { userId } = callerOf(ctx);
      const page = await searchMessages(prisma, {
        userId,
        query: req.query,
        roomId: req.roomId,
        senderId: req.senderId,
        ...(req.afterTime && { after: timestampDate(req.afterTime) }),
        ...(req.beforeTime && { before: timestampDate(req.beforeTime) }),
        order: req.order === SearchOrder.DATE ? "date" : "relevance",
        ...(req.hasAttachment !== undefined && { hasAttachment: req.hasAttachment }),
        ...(req.inThread !== undefined && { inThread: req.inThread }),
        pageSize: req.pageSize || defaultSearchPageSize,
        pageToken: req.pageToken,
      });
      return create(SearchMessagesResponseSchema, {
        hits: page.hits.map((h) =>
          create(SearchHitSchema, {
            message: h.message,
            snippet: h.snippet.text,
            highlights: h.snippet.highlights.map((r) => create(HighlightRangeSchema, r)),
            score: h.score,
          }),
        ),
        nextPageToken: page.nextPageToken,
      });
    },
  };
}

/** The types a feed session shares with its room cursors and its host. */
import type { ChatResponse } from "../../../gen/chat/v1/feed_pb.js";
import type { Room } from "../../../gen/chat/v1/room_pb.js";
import type { Frame, RoomFrame } from "../frames.js";
import type { RoomListener } from "../hub/room-hub.js";

/** What a stream sends: feed frames, and on Chat also command outcomes. */
export type Outgoing = Frame | ChatResponse;

/** What {@link SessionHost.count} counts. */
export type FeedCount = "bytes" | "overflows" | "resets" | "replays";

/** What a session needs from the process-wide hub. */
export interface SessionHost {
  /** Stored events of a room in (after, upTo], ascending, at most `limit`. */
  readEvents(roomId: bigint, after: bigint, upTo: bigint, limit: number): Promise<RoomFrame[]>;
  /** Current head of the room's hub (after the hub is ready). */
  attach(roomId: bigint, listener: RoomListener): Promise<bigint>;
  detach(roomId: bigint, listener: RoomListener): void;
  loadRoom(roomId: bigint): Promise<Room | undefined>;
  /** Counts frames handed to streams (statistics); optional. */
  delivered?(n: number): void;
  /** Counts what happened to feeds (metrics): bytes written, queue overflows, resets, replays. */
  count?(what: FeedCount, n: number): void;
}

/** Limits of a session. */
export interface SessionOptions {
  /** Frames queued before the stream is cut. */
  queueLimit: number;
  /** A room further behind than this gets `reset` instead of a replay. */
  maxReplay: number;
  heartbeatMs: number;
}

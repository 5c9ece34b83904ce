/**
 * Opening and starting feed streams, shared by the two ways a Subscribe
 * arrives: the Connect handler (Chat, in-memory transports, unusual
 * requests) and the direct writer (rpc/direct/direct-subscribe.ts). Both get the same
 * limits, presence, expiry and `ready`-then-rooms start.
 */
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { SubscribeRequest } from "../../../gen/chat/v1/feed_pb.js";
import { roomNotFound } from "../../domain/access.js";
import type { Caller } from "../../domain/auth/caller.js";
import { chatError, invalidArgument } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { membershipHeads } from "../../store/sql/feeds.js";
import { frame } from "../frames.js";
import type { FeedHub } from "../hub/feed-hub.js";
import type { Presence } from "../presence/presence.js";
import type { FeedSession } from "./feed-session.js";

/** Dependencies of {@link FeedStreams}. */
export interface FeedStreamsDeps {
  prisma: PrismaClient;
  feed: FeedHub;
  presence: Presence;
  /** Open Subscribe/Chat streams allowed per user (across the cluster). */
  maxStreamsPerUser: number;
  /** Aborted when the server starts shutting down. */
  shutdownSignal: AbortSignal;
}

/** An open session and the one way to let go of it. */
export interface OpenSession {
  session: FeedSession;
  /** Releases rooms, channels, presence and timers; idempotent. */
  release: () => void;
}

function shuttingDown(): ConnectError {
  return chatError(
    Code.Unavailable,
    "server is shutting down: reconnect and resume",
    ErrorReason.SHUTTING_DOWN,
  );
}

/** Opens, starts and ends feed sessions of this process. */
export class FeedStreams {
  constructor(private readonly deps: FeedStreamsDeps) {
    // Shutdown ends every stream with Unavailable: clients resume elsewhere.
    deps.shutdownSignal.addEventListener("abort", () => {
      for (const s of [...deps.feed.sessions()]) s.fail(shuttingDown());
    });
  }

  get heartbeatMs(): number {
    return this.deps.feed.options.heartbeatMs;
  }

  /** Open streams of this process by wire protocol (AdminService.GetStats). */
  readonly byProtocol = new Map<string, number>();

  /**
   * Opens a session for `caller`, on a stream of `protocol` ("connect",
   * "grpc" or "grpc-web", for statistics); the caller must `release` it.
   */
  async open(caller: Caller, protocol = "connect"): Promise<OpenSession> {
    const { feed, presence, maxStreamsPerUser } = this.deps;
    if (this.deps.shutdownSignal.aborted) throw shuttingDown();
    const session = await feed.open(caller.userId, caller.sessionId);
    let connId: string;
    try {
      // Registered first, then counted across the cluster (feeds of every
      // instance): concurrent opens cannot all slip under the limit.
      const opened = await presence.connected(caller.userId);
      connId = opened.connId;
      if (opened.openFeeds > maxStreamsPerUser) {
        presence.disconnected(caller.userId, connId, { quiet: true });
        throw new ConnectError(
          `too many open feeds for this user (limit ${maxStreamsPerUser}): close another tab or device first`,
          Code.ResourceExhausted,
        );
      }
    } catch (err) {
      feed.close(session);
      throw err;
    }
    let expiry: NodeJS.Timeout | undefined;
    if (caller.expiresAt) {
      const ms = Math.min(caller.expiresAt.getTime() - Date.now(), 2 ** 31 - 1);
      expiry = setTimeout(
        () =>
          session.fail(
            chatError(
              Code.Unauthenticated,
              "the access token expired: log in again",
              ErrorReason.TOKEN_INVALID,
            ),
          ),
        Math.max(0, ms),
      );
      expiry.unref();
    }
    let released = false;
    this.byProtocol.set(protocol, (this.byProtocol.get(protocol) ?? 0) + 1);
    const release = () => {
      if (released) return;
      released = true;
      this.byProtocol.set(protocol, (this.byProtocol.get(protocol) ?? 1) - 1);
      clearTimeout(expiry);
      feed.close(session);
      presence.disconnected(caller.userId, connId);
    };
    return { session, release };
  }

  /**
   * Checks the positions, queues `ready`, then starts every room of the
   * user at its position. `beforeReady` runs once the request is found
   * valid, before anything is queued.
   */
  async start(
    session: FeedSession,
    userId: bigint,
    req: SubscribeRequest,
    beforeReady: () => void = () => {},
  ): Promise<void> {
    const { prisma, feed, presence } = this.deps;
    const memberships = await membershipHeads(prisma, userId);
    const heads = new Map(memberships.map((m) => [m.roomId, m.lastSeq]));
    const positions = new Map<bigint, bigint>();
    req.positions.forEach((p, i) => {
      const head = heads.get(p.roomId);
      // Rooms the caller does not belong to are unknown, whatever they are.
      if (head === undefined) throw roomNotFound();
      if (p.lastSeq > head) {
        throw invalidArgument([
          {
            field: `positions[${i}].last_seq`,
            description: `is beyond the room's last sequence ${head}`,
          },
        ]);
      }
      positions.set(p.roomId, p.lastSeq);
    });
    beforeReady();
    session.heartbeatMs = req.heartbeatIntervalMs || feed.options.heartbeatMs;
    session.push(
      frame({
        case: "ready",
        value: {
          rooms: memberships.map((m) => ({ roomId: m.roomId, lastSeq: m.lastSeq })),
          serverTime: timestampNow(),
          heartbeatIntervalMs: session.heartbeatMs,
        },
      }),
    );
    // The current presence of fellow members; changes follow as events.
    const online = await presence.onlineCoMembers(userId);
    session.markReady();
    // Paced in the background: the queue drains only once the stream
    // starts sending, after this function returns.
    void (async () => {
      for (const id of online) {
        await session.reserve(1);
        if (!session.ended) {
          session.push(frame({ case: "presence", value: { userId: id, online: true } }));
        }
        session.unreserve(1);
        if (session.ended) return;
      }
    })();
    await Promise.all(
      memberships.map((m) => session.addRoom(m.roomId, positions.get(m.roomId) ?? m.lastSeq)),
    );
  }
}

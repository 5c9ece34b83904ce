/**
 * Opening and starting feed streams, shared by the two ways a Subscribe
 * arrives: the Connect handler (Chat, in-memory transports, unusual
 * requests) and the direct writer (rpc/direct/direct-subscribe.ts). Both get the same
 * limits, presence, expiry and `ready`-then-rooms start.
 */
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { roomNotFound } from "../../domain/access.js";
import { chatError, invalidArgument } from "../../platform/errors.js";
import { membershipHeads } from "../../store/sql/feeds.js";
import { frame } from "../frames.js";
function shuttingDown() {
    return chatError(Code.Unavailable, "server is shutting down: reconnect and resume", ErrorReason.SHUTTING_DOWN);
}
/** Opens, starts and ends feed sessions of this process. */
export class FeedStreams {
    deps;
    constructor(deps) {
        this.deps = deps;
        // Shutdown ends every stream with Unavailable: clients resume elsewhere.
        deps.shutdownSignal.addEventListener("abort", () => {
            for (const s of [...deps.feed.sessions()])
                s.fail(shuttingDown());
        });
    }
    get heartbeatMs() {
        return this.deps.feed.options.heartbeatMs;
    }
    /** Opens a session for `caller`; the caller must `release` it. */
    async open(caller) {
        const { feed, presence, maxStreamsPerUser } = this.deps;
        if (this.deps.shutdownSignal.aborted)
            throw shuttingDown();
        const session = await feed.open(caller.userId, caller.sessionId);
        let connId;
        try {
            // Registered first, then counted across the cluster (feeds of every
            // instance): concurrent opens cannot all slip under the limit.
            const opened = await presence.connected(caller.userId);
            connId = opened.connId;
            if (opened.openFeeds > maxStreamsPerUser) {
                presence.disconnected(caller.userId, connId, { quiet: true });
                throw new ConnectError(`too many open feeds for this user (limit ${maxStreamsPerUser}): close another tab or device first`, Code.ResourceExhausted);
            }
        }
        catch (err) {
            feed.close(session);
            throw err;
        }
        let expiry;
        if (caller.expiresAt) {
            const ms = Math.min(caller.expiresAt.getTime() - Date.now(), 2 ** 31 - 1);
            expiry = setTimeout(() => session.fail(chatError(Code.Unauthenticated, "the access token expired: log in again", ErrorReason.TOKEN_INVALID)), Math.max(0, ms));
            expiry.unref();
        }
        let released = false;
        const release = () => {
            if (released)
                return;
            released = true;
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
    async start(session, userId, req, beforeReady = () => { }) {
        const { prisma, feed, presence } = this.deps;
        const memberships = await membershipHeads(prisma, userId);
        const heads = new Map(memberships.map((m) => [m.roomId, m.lastSeq]));
        const positions = new Map();
        req.positions.forEach((p, i) => {
            const head = heads.get(p.roomId);
            // Rooms the caller does not belong to are unknown, whatever they are.
            if (head === undefined)
                throw roomNotFound();
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
        session.push(frame({
            case: "ready",
            value: {
                rooms: memberships.map((m) => ({ roomId: m.roomId, lastSeq: m.lastSeq })),
                serverTime: timestampNow(),
                heartbeatIntervalMs: session.heartbeatMs,
            },
        }));
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
                if (session.ended)
                    return;
            }
        })();
        await Promise.all(memberships.map((m) => session.addRoom(m.roomId, positions.get(m.roomId) ?? m.lastSeq)));
    }
}
//# sourceMappingURL=feed-streams.js.map
/**
 * One open feed stream: a bounded queue of frames and, per room, the next
 * sequence the client must get. Per room it delivers exactly the events
 * after the client's position, in order: a hole between what it has and
 * what arrives live is filled from room_events first: never a silent gap. A
 * client too slow to drain the queue is cut off with ResourceExhausted and
 * resumes by sequence; it never holds up the room.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Reset_Reason } from "../../../gen/chat/v1/feed_pb.js";
import { frame, heartbeatFrame } from "../frames.js";
/** Per-room delivery state of one session. */
class RoomCursor {
    session;
    roomId;
    /** Next sequence owed to the client. */
    next;
    /** Deliver up to here, then stop carrying the room (membership ended). */
    endAt;
    /** The user rejoined at this sequence while endAt was pending. */
    rejoinAt;
    /** Set when the session stops carrying the room: nothing more is sent. */
    stopped = false;
    catchingUp = false;
    /**
     * While catching up, the highest sequence the replay must reach. Live
     * events that arrive meanwhile only raise it: they are read back (from
     * the room hub's recent events, usually) in order, so nothing is held
     * per cursor however long the catch-up takes.
     */
    target = 0n;
    constructor(session, roomId, after) {
        this.session = session;
        this.roomId = roomId;
        this.next = after + 1n;
    }
    onRoomEvent(f) {
        // Nothing is owed any more: without this, an ended session would
        // re-trigger catch-ups from resolved promises forever (a microtask loop
        // that starves the event loop).
        if (this.stopped || this.session.ended)
            return;
        if (f.seq < this.next)
            return;
        if (this.catchingUp) {
            if (f.seq > this.target)
                this.target = f.seq;
            return;
        }
        if (f.seq > this.next) {
            this.catchUp(f.seq);
            return;
        }
        this.deliver(f);
    }
    onRoomSignal(_msg, f) {
        if (!this.stopped)
            this.session.push(f);
    }
    /**
     * Replays stored events up to `upTo` (and whatever arrives meanwhile)
     * before going live again. A second request while one runs only extends
     * the first.
     */
    catchUp(upTo) {
        if (upTo > this.target)
            this.target = upTo;
        if (this.catchingUp)
            return;
        this.catchingUp = true;
        this.replay().catch((err) => {
            this.catchingUp = false;
            this.session.fail(err);
        });
    }
    async replay() {
        // Pages of at most a quarter of the queue, each taken only once the
        // session reserved room for it within the paced half of the queue:
        // however many rooms catch up at once, a reader that keeps up is never
        // cut off by a replay.
        const page = Math.max(1, Math.min(500, Math.floor(this.session.options.queueLimit / 4)));
        while (this.next <= this.target) {
            await this.session.reserve(page);
            try {
                if (this.session.ended || this.stopped)
                    return;
                const upTo = this.target;
                const frames = await this.session.host.readEvents(this.roomId, this.next - 1n, upTo, page);
                if (this.session.ended || this.stopped)
                    return;
                for (const f of frames)
                    if (f.seq === this.next)
                        this.deliver(f);
                if (frames.length === 0 && this.next <= upTo) {
                    // Storage had less than it must: never continue past a hole.
                    throw new Error(`room ${this.roomId}: events ${this.next}..${upTo} missing in storage`);
                }
            }
            finally {
                this.session.unreserve(page);
            }
        }
        // No await since the loop's last check: no live event slipped in between.
        this.catchingUp = false;
    }
    deliver(f) {
        if (this.session.ended || this.stopped)
            return;
        this.next = f.seq + 1n;
        this.session.push(f.frame);
        // The room's own stream says the user left: stop here even if the
        // user-channel notice is late or was lost (bus outage), so nothing after
        // the removal ever reaches a former member.
        const change = f.event.change;
        if (change.case === "memberRemoved" &&
            change.value.userId === this.session.userId &&
            (this.endAt === undefined || f.seq < this.endAt)) {
            this.endAt = f.seq;
        }
        if (this.endAt !== undefined && f.seq >= this.endAt)
            this.session.endRoom(this);
    }
}
/** A Subscribe stream's state. */
export class FeedSession {
    userId;
    sessionId;
    host;
    options;
    queue = [];
    /**
     * Called when frames are queued or the stream ended: the generator's
     * wake-up while it waits, or a direct writer's flush request.
     */
    wake;
    /** Replays waiting for the queue to drain. */
    spaceWaiters = [];
    /** Room in the paced half of the queue promised to replays in progress. */
    reserved = 0;
    /** Membership changes that arrived before `ready` was queued. */
    deferred = [];
    /**
     * Why the stream ended, as thrown: a ConnectError, or anything else that
     * the caller masks as Internal (never sent as is).
     */
    failure;
    cursors = new Map();
    /** Removals that arrived before the room was attached (start-up race). */
    removedAt = new Map();
    ended = false;
    /** Set once the stream carries rooms (Chat: after a subscribe command). */
    subscribed = false;
    /** End after the queued frames are sent (Chat whose client stopped sending). */
    finishing = false;
    /** Heartbeat interval of this stream (the client may ask for its own). */
    heartbeatMs;
    constructor(userId, sessionId, host, options) {
        this.userId = userId;
        this.sessionId = sessionId;
        this.host = host;
        this.options = options;
        this.heartbeatMs = options.heartbeatMs;
    }
    /** Why the stream ended, once it failed (wrapped: any value may be thrown). */
    get failed() {
        return this.failure;
    }
    /**
     * Hands every queued frame to a direct writer, which calls `onReady` on
     * this session's behalf from now on instead of pulling `frames()`.
     */
    drainTo(onReady) {
        this.wake = onReady;
    }
    /** Takes everything queued (oldest first); frees the queue for more. */
    takeAll() {
        if (this.queue.length === 0)
            return [];
        const taken = this.queue;
        this.queue = [];
        this.releaseSpace();
        return taken;
    }
    /** Queues a frame; past the limit the stream ends (resumable). */
    push(f) {
        if (this.ended)
            return;
        if (this.queue.length >= this.options.queueLimit) {
            this.fail(new ConnectError("feed consumer too slow: the stream was ended; reconnect and resume from the last sequence of each room", Code.ResourceExhausted));
            return;
        }
        this.queue.push(f);
        this.wake?.();
    }
    /**
     * Resolves once `n` more paced frames fit in the queue, and holds that
     * room for the caller until {@link unreserve}: concurrent replays share
     * the paced half instead of each seeing it empty. Resolves at once once
     * the stream ended.
     */
    reserve(n) {
        if (this.ended || this.fits(n)) {
            this.reserved += n;
            return Promise.resolve();
        }
        return new Promise((resolve) => this.spaceWaiters.push({
            need: n,
            resolve: () => {
                this.reserved += n;
                resolve();
            },
        }));
    }
    /** Gives back what {@link reserve} held (the frames, if any, are queued by now). */
    unreserve(n) {
        this.reserved = Math.max(0, this.reserved - n);
        this.releaseSpace();
    }
    /**
     * Paced frames (replays, presence snapshots) may fill only half the
     * queue: the other half stays free for live frames, so a reader that
     * keeps up is never cut off because a replay was waiting on it.
     */
    fits(n) {
        return (this.queue.length + this.reserved + n <= Math.max(n, Math.floor(this.options.queueLimit / 2)));
    }
    releaseSpace() {
        if (this.spaceWaiters.length === 0)
            return;
        const waiting = this.spaceWaiters;
        this.spaceWaiters = [];
        for (const w of waiting) {
            if (this.ended || this.fits(w.need))
                w.resolve();
            else
                this.spaceWaiters.push(w);
        }
    }
    /** `ready` is queued: membership changes held back until now apply. */
    markReady() {
        const deferred = this.deferred ?? [];
        this.deferred = undefined;
        for (const fn of deferred)
            fn();
    }
    /**
     * A membership change from the user's channel. Before `ready` is queued
     * it waits, so `room_added` never precedes `ready`.
     */
    onMembership(roomId, joined, seq) {
        const apply = () => {
            if (joined)
                this.joinedAt(roomId, seq).catch((err) => this.fail(err));
            else
                this.removeRoomAt(roomId, seq);
        };
        if (this.deferred)
            this.deferred.push(apply);
        else
            apply();
    }
    /** Ends the stream with an error (after what is queued is NOT sent). */
    fail(err) {
        if (this.ended)
            return;
        this.failure = { error: err };
        this.ended = true;
        this.queue.length = 0;
        // Let go of the rooms now: the handler may stay parked (a stalled
        // client pulls nothing) long after this.
        this.resetRooms();
        this.wake?.();
        this.releaseSpace();
    }
    /**
     * Starts carrying a room from sequence `after` (exclusive). If the room
     * is further behind than `maxReplay`, sends `reset` and goes live.
     */
    async addRoom(roomId, after) {
        if (this.cursors.has(roomId) || this.ended)
            return;
        const cursor = new RoomCursor(this, roomId, after);
        const removed = this.removedAt.get(roomId);
        if (removed !== undefined && removed > after)
            cursor.endAt = removed;
        this.cursors.set(roomId, cursor);
        const head = await this.host.attach(roomId, cursor);
        if (head - after > BigInt(this.options.maxReplay)) {
            cursor.next = head + 1n;
            this.push(frame({
                case: "reset",
                value: { roomId, reason: Reset_Reason.TOO_FAR_BEHIND, lastSeq: head },
            }));
            // Removed before the reset point: nothing more of the room is owed.
            if (cursor.endAt !== undefined && cursor.next > cursor.endAt)
                this.endRoom(cursor);
        }
        else if (cursor.next <= head) {
            cursor.catchUp(head);
        }
    }
    /** Membership ended at `seq`: deliver up to it, then drop the room. */
    removeRoomAt(roomId, seq) {
        const cursor = this.cursors.get(roomId);
        if (!cursor) {
            this.removedAt.set(roomId, seq);
            return;
        }
        cursor.endAt = seq;
        cursor.rejoinAt = undefined;
        if (cursor.next > seq)
            this.endRoom(cursor);
    }
    /** The user (re)joined at `seq`. */
    async joinedAt(roomId, seq) {
        const cursor = this.cursors.get(roomId);
        if (cursor) {
            // Still draining an earlier membership: rejoin once it is over.
            if (cursor.endAt !== undefined && seq > cursor.endAt)
                cursor.rejoinAt = seq;
            return;
        }
        this.removedAt.delete(roomId);
        const room = await this.host.loadRoom(roomId);
        // Subscribe may have attached it meanwhile (it was in `ready`).
        if (!room || this.cursors.has(roomId) || this.ended)
            return;
        this.push(frame({ case: "roomAdded", value: { room } }));
        await this.addRoom(roomId, seq - 1n);
    }
    endRoom(cursor) {
        if (this.cursors.get(cursor.roomId) !== cursor)
            return;
        cursor.stopped = true;
        this.cursors.delete(cursor.roomId);
        this.host.detach(cursor.roomId, cursor);
        this.push(frame({ case: "roomRemoved", value: { roomId: cursor.roomId } }));
        const rejoin = cursor.rejoinAt;
        if (rejoin !== undefined)
            void this.joinedAt(cursor.roomId, rejoin).catch((err) => this.fail(err));
    }
    /**
     * The frames for the handler to yield, with heartbeats while idle. Ends
     * by throwing the failure, or when `signal` aborts.
     */
    async *frames(signal) {
        const onAbort = () => this.wake?.();
        signal.addEventListener("abort", onAbort);
        try {
            for (;;) {
                if (this.failure)
                    throw this.failure.error;
                if (signal.aborted)
                    return;
                const next = this.queue.shift();
                if (next) {
                    this.releaseSpace();
                    yield next;
                    continue;
                }
                if (this.finishing)
                    return;
                const timedOut = await new Promise((resolve) => {
                    const timer = setTimeout(() => resolve(true), this.heartbeatMs);
                    this.wake = () => {
                        clearTimeout(timer);
                        resolve(false);
                    };
                });
                this.wake = undefined;
                if (timedOut && !this.failure && !signal.aborted)
                    yield heartbeatFrame();
            }
        }
        finally {
            signal.removeEventListener("abort", onAbort);
        }
    }
    /** Ends the stream once everything queued has been sent. */
    finish() {
        this.finishing = true;
        this.wake?.();
    }
    /** Stops carrying every room, silently (Chat re-subscribing). */
    resetRooms() {
        this.deferred ??= [];
        for (const cursor of this.cursors.values()) {
            cursor.stopped = true;
            this.host.detach(cursor.roomId, cursor);
        }
        this.cursors.clear();
    }
    /** Releases every room; idempotent. */
    close() {
        this.ended = true;
        for (const cursor of this.cursors.values()) {
            cursor.stopped = true;
            this.host.detach(cursor.roomId, cursor);
        }
        this.cursors.clear();
        this.queue.length = 0;
        this.wake?.();
    }
}
//# sourceMappingURL=feed-session.js.map
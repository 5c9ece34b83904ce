/**
 * The process-wide side of live feeds: publishes committed room events to
 * the bus (it is the RoomWriter's sink), keeps one RoomHub per room and one
 * user-channel subscription per user with open feeds here, and routes what
 * arrives to the local sessions.
 */
import type { Logger } from "pino";
import type { BusMessage } from "../../../gen/chat/internal/v1/bus_pb.js";
import type { RoomEvent } from "../../../gen/chat/v1/event_pb.js";
import type { UserNotice } from "../../../gen/chat/v1/notice_pb.js";
import type { Room } from "../../../gen/chat/v1/room_pb.js";
import { tuning } from "../../config.js";
import type { RoomEventSink } from "../../domain/event-sink.js";
import { roomSelect, toRoom } from "../../domain/room-view.js";
import type { PrismaClient } from "../../store/prisma.js";
import type { Broker } from "../bus/broker.js";
import { channels, encodeBus } from "../bus/bus-format.js";
import { type Frame, frame, type RoomFrame } from "../frames.js";
import { RateCounter } from "../rate-counter.js";
import {
  type FeedCount,
  FeedSession,
  type SessionHost,
  type SessionOptions,
} from "../session/feed-session.js";
import { ReceiptCoalescer } from "./receipt-coalescer.js";
import { RoomHub, type RoomListener, readEvents } from "./room-hub.js";
import { UserChannels } from "./user-channels.js";

/** What room hubs keep, and how often the hub checks itself against storage. */
export interface HubOptions {
  /** Latest events kept in memory per room with feeds here (0: none). */
  recentEvents: number;
  /** How long a room hub lives on after its last feed left (0: closes at once). */
  lingerMs: number;
  /**
   * How often every room hub's head is compared with storage (0: never). A
   * hub still behind what storage held one check earlier lost a publish
   * (a bus outage or partition) and reads the rest from room_events.
   */
  headCheckMs: number;
  /**
   * How often open feeds' sessions are checked for revocation and expiry in
   * storage (0: never), so a feed of a revoked token ends on every instance
   * even when the revocation notice was lost.
   */
  sessionCheckMs: number;
}

const noHubOptions: HubOptions = {
  recentEvents: 0,
  lingerMs: 0,
  headCheckMs: 0,
  sessionCheckMs: 0,
};

/** Live-feed state of this process. */
export class FeedHub implements SessionHost, RoomEventSink {
  private readonly rooms = new Map<bigint, RoomHub>();
  /** Users with open feeds here, and their channels. */
  readonly users: UserChannels;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Each room's last sequence in storage at the previous head check. */
  private lastHeads = new Map<bigint, bigint>();
  /** Messages committed by this process (AdminService.GetStats). */
  readonly messageRate = new RateCounter();
  /** Frames handed to this process's streams. */
  readonly deliveryRate = new RateCounter();
  /** Totals of what happened to this process's feeds (metrics). */
  readonly counts: Record<FeedCount, number> = { bytes: 0, overflows: 0, resets: 0, replays: 0 };
  /** Read receipts to the rooms' feeds, coalesced. */
  readonly receipts = new ReceiptCoalescer(
    (channel, payload) => this.send(channel, payload),
    tuning.receipts.everyMs,
  );

  constructor(
    readonly broker: Broker,
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    readonly options: SessionOptions,
    private readonly cache: HubOptions = noHubOptions,
    /** Told of every membership change committed by this process (presence keeps room sets). */
    private readonly onMembership: (
      roomId: bigint,
      userId: bigint,
      joined: boolean,
    ) => void = () => {},
  ) {
    this.users = new UserChannels(broker, prisma, logger, (userId, sessionId) => {
      return new FeedSession(userId, sessionId, this, this.options);
    });
    broker.onResync(() => this.resync());
    const every = (ms: number, fn: () => Promise<void>) => {
      if (ms <= 0) return;
      const t = setInterval(() => void fn(), ms);
      t.unref();
      this.timers.push(t);
    };
    every(cache.headCheckMs, () => this.checkHeads());
    every(cache.sessionCheckMs, () => this.users.checkSessions());
  }

  // --- sessions: kept per user by UserChannels -----------------------------

  /** Number of open feeds of a user in this process. */
  localStreams(userId: bigint): number {
    return this.users.localStreams(userId);
  }

  /**
   * Registers a new session and waits until its user channel is live, so
   * membership changes committed from now on reach it.
   */
  open(userId: bigint, sessionId: bigint): Promise<FeedSession> {
    return this.users.open(userId, sessionId);
  }

  /** Unregisters a session and releases what only it used. */
  close(session: FeedSession): void {
    this.users.close(session);
  }

  /** Every local session (for shutdown). */
  sessions(): Iterable<FeedSession> {
    return this.users.sessions();
  }

  // --- healing: what the bus may have lost is read from storage ------------

  /**
   * The bus was down (or a subscription failed) and is whole again: every
   * room hub reads what it missed, every feed re-checks its session and
   * the user's rooms.
   */
  resync(): void {
    for (const hub of this.rooms.values()) {
      hub.ready.then(
        () => hub.resync(),
        () => {},
      );
    }
    void this.users.checkSessions();
    void this.users.checkMemberships();
  }

  /** Compares every hub with storage; see {@link HubOptions.headCheckMs}. */
  async checkHeads(): Promise<void> {
    const hubs = [...this.rooms.values()].filter((h) => h.started);
    const observed = new Map<bigint, bigint>();
    try {
      for (let i = 0; i < hubs.length; i += 1_000) {
        const ids = hubs.slice(i, i + 1_000).map((h) => h.roomId);
        const rows = await this.prisma.room.findMany({
          where: { id: { in: ids } },
          select: { id: true, lastSeq: true },
        });
        for (const r of rows) observed.set(r.id, r.lastSeq);
      }
    } catch (err) {
      this.logger.debug({ err }, "head check failed");
      return;
    }
    for (const hub of hubs) {
      const before = this.lastHeads.get(hub.roomId);
      // Committed a whole check ago and still not here: its publish is lost.
      if (before !== undefined && hub.head < before) {
        this.logger.warn(
          { roomId: hub.roomId, head: hub.head, stored: before },
          "room hub behind storage: reading the missed events",
        );
        hub.resync(before);
      }
    }
    this.lastHeads = observed;
  }

  // --- RoomEventSink: called after COMMIT by the RoomWriter ---------------

  publish(events: readonly RoomEvent[], bytes: readonly Uint8Array[]): void {
    events.forEach((event, i) => {
      const b = bytes[i];
      if (!b) return;
      this.send(channels.room(event.roomId), encodeBus({ case: "roomEvent", value: b }));
      const change = event.change;
      if (change.case === "messageCreated") this.messageRate.add();
      if (change.case === "membersAdded") {
        for (const m of change.value.members) {
          const userId = m.user?.id;
          if (userId) this.notifyMembership(userId, event.roomId, true, event.seq);
        }
      } else if (change.case === "memberRemoved") {
        this.notifyMembership(change.value.userId, event.roomId, false, event.seq);
      }
    });
  }

  private notifyMembership(userId: bigint, roomId: bigint, joined: boolean, seq: bigint): void {
    this.send(
      channels.user(userId),
      encodeBus({ case: "membership", value: { roomId, joined, seq } }),
    );
    this.onMembership(roomId, userId, joined);
  }

  /** Tells the user's open feeds (every instance) that a read marker moved. */
  readMarkerMoved(userId: bigint, roomId: bigint, lastReadSeq: bigint): void {
    this.send(
      channels.user(userId),
      encodeBus({ case: "readMarker", value: { roomId, lastReadSeq } }),
    );
  }

  /** Publishes without making the caller wait; failures are logged. */
  send(channel: string, payload: Uint8Array): void {
    this.broker.publish(channel, payload).catch((err: unknown) => {
      // The event is stored: feeds that miss it fill the gap from storage
      // at the next event of the room or when they resume.
      this.logger.error({ err, channel }, "bus publish failed");
    });
  }

  /** Sends an operator's notice to the user's open feeds on every instance. */
  noticeUser(userId: bigint, notice: UserNotice): void {
    this.send(channels.user(userId), encodeBus({ case: "userNotice", value: notice }));
  }

  /** Users with an open feed in this process. */
  localUsers(): number {
    return this.users.userCount;
  }

  // --- SessionHost -----------------------------------------------------------

  delivered(n: number): void {
    this.deliveryRate.add(n);
  }

  count(what: FeedCount, n: number): void {
    this.counts[what] += n;
  }

  readEvents(roomId: bigint, after: bigint, upTo: bigint, limit: number): Promise<RoomFrame[]> {
    const cached = this.rooms.get(roomId)?.recentRange(after, upTo, limit);
    return cached ? Promise.resolve(cached) : readEvents(this.prisma, roomId, after, upTo, limit);
  }

  async attach(roomId: bigint, listener: RoomListener): Promise<bigint> {
    let hub = this.rooms.get(roomId);
    if (!hub) {
      hub = new RoomHub(
        roomId,
        this.broker,
        this.prisma,
        this.logger,
        (msg) => signalFrame(msg),
        this.cache.recentEvents,
      );
      this.rooms.set(roomId, hub);
    } else if (hub.isClosed) {
      // Let go of while its last start was failing: replace it.
      this.rooms.delete(roomId);
      return this.attach(roomId, listener);
    }
    clearTimeout(hub.lingering);
    hub.lingering = undefined;
    hub.listeners.add(listener);
    try {
      await hub.ready;
    } catch (err) {
      // A hub whose start failed is never reused: drop it (if nobody has
      // already), so the next attach starts a fresh one.
      hub.listeners.delete(listener);
      if (this.rooms.get(roomId) === hub) this.rooms.delete(roomId);
      hub.close();
      throw err;
    }
    return hub.head;
  }

  detach(roomId: bigint, listener: RoomListener): void {
    const hub = this.rooms.get(roomId);
    if (!hub) return;
    hub.listeners.delete(listener);
    if (hub.listeners.size > 0 || hub.lingering) return;
    // Kept a while with nobody listening, still following the bus, so the
    // feeds that come back (a reconnect storm after a deploy or a network
    // blip) resume from its recent events instead of room_events.
    const drop = () => {
      if (hub.listeners.size > 0 || this.rooms.get(roomId) !== hub) return;
      this.rooms.delete(roomId);
      hub.ready.then(
        () => hub.close(),
        () => hub.close(),
      );
    };
    if (this.cache.lingerMs <= 0) {
      drop();
      return;
    }
    hub.lingering = setTimeout(() => {
      hub.lingering = undefined;
      drop();
    }, this.cache.lingerMs);
    hub.lingering.unref();
  }

  /** Closes every room hub and stops the checks (server shutdown). */
  closeRooms(): void {
    for (const t of this.timers) clearInterval(t);
    this.receipts.close();
    for (const hub of this.rooms.values()) hub.close();
    this.rooms.clear();
  }

  async loadRoom(roomId: bigint): Promise<Room | undefined> {
    const row = await this.prisma.room.findUnique({ where: { id: roomId }, select: roomSelect });
    return row ? toRoom(row) : undefined;
  }
}

/** The feed frame for a non-sequenced room message. */
function signalFrame(msg: BusMessage): Frame | undefined {
  const p = msg.payload;
  switch (p.case) {
    case "typing":
      return frame({ case: "typing", value: p.value });
    case "presence":
      return frame({ case: "presence", value: p.value });
    case "roomStats":
      return frame({ case: "roomStats", value: p.value });
    case "readReceipt":
      return frame({ case: "readReceipt", value: p.value });
    default:
      return undefined;
  }
}

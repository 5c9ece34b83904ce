/**
 * One RoomHub per room with local subscribers. It listens to the room's bus
 * channel and hands each event, decoded once, to every subscription in
 * sequence order. Events from several instances can arrive out of order on
 * the bus; a gap is filled from room_events before going on: once seq N
 * exists, every seq below it is committed (N was assigned under the room
 * lock after N-1 committed), so the read always finds them.
 */
import type { Logger } from "pino";
import type { BusMessage } from "../../gen/chat/internal/v1/bus_pb.js";
import type { PrismaClient } from "../../prisma/generated/client.js";
import type { Broker } from "./broker.js";
import { channels, decodeBus, type Frame, type RoomFrame, roomFrame } from "./frames.js";

/** Bus messages held while a hub reads its head; more are read back from storage. */
const inboxLimit = 1_000;
/** Events read per query when filling a gap. */
const fillPage = 1_000;
const minRetryDelayMs = 250;
const maxRetryDelayMs = 5_000;

/** What a hub delivers to. */
export interface RoomListener {
  /** A room event, in strictly ascending sequence per hub. */
  onRoomEvent(f: RoomFrame): void;
  /** A non-sequenced message of the room (typing, presence, stats). */
  onRoomSignal(msg: BusMessage, frame: Frame): void;
}

/** Reads stored events of a room, ascending, in (after, upTo]. */
export async function readEvents(
  prisma: PrismaClient,
  roomId: bigint,
  after: bigint,
  upTo: bigint,
  limit: number,
): Promise<RoomFrame[]> {
  if (upTo <= after) return [];
  const rows = await prisma.roomEvent.findMany({
    where: { roomId, seq: { gt: after, lte: upTo } },
    orderBy: { seq: "asc" },
    take: limit,
    select: { payload: true },
  });
  return rows.map((r) => roomFrame(r.payload));
}

/** Local fan-out point of one room. */
export class RoomHub {
  readonly listeners = new Set<RoomListener>();
  /** Highest sequence handed to listeners. */
  head = 0n;
  /** Set once the head was read and live events flow. */
  started = false;
  /**
   * The latest events handed out, contiguous and ending at `head`: a feed
   * that resumes a little behind (a network blip, a reconnect storm after a
   * deploy) is served from memory instead of one room_events read per feed.
   */
  private recent: RoomFrame[] = [];
  /** Pending close once the last listener left (see FeedHub.detach). */
  lingering: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private retryDelayMs = minRetryDelayMs / 2;
  private closed = false;
  /** Whether the hub has stopped (failed start, or let go of). */
  get isClosed(): boolean {
    return this.closed;
  }
  readonly ready: Promise<void>;

  constructor(
    readonly roomId: bigint,
    private readonly broker: Broker,
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly signalFrame: (msg: BusMessage) => Frame | undefined,
    /** Events kept in {@link recent}; 0 keeps none. */
    private readonly recentLimit = 0,
  ) {
    this.ready = this.start();
    // Awaited by attach(); a hub closed before anyone awaits must not leave
    // an unobserved rejection behind.
    this.ready.catch(() => {});
  }

  private async start(): Promise<void> {
    // Subscribe first, then read the head: an event committed in between
    // is both in the read and on the bus, and the sequence dedupes it.
    // Until the head is known, arrivals wait in a bounded inbox; past its
    // bound they are dropped and read back from storage instead.
    let inbox: Uint8Array[] | undefined = [];
    let overflowed = false;
    this.unsubscribe = await this.broker.subscribe(channels.room(this.roomId), (bytes) => {
      if (!inbox) this.enqueue(bytes);
      else if (inbox.length < inboxLimit) inbox.push(bytes);
      else overflowed = true;
    });
    try {
      if (this.closed) throw new Error(`room hub ${this.roomId} closed while starting`);
      this.head = await this.readHead();
    } catch (err) {
      // Nothing of a failed start outlives it: the caller drops this hub
      // and the next attach builds a fresh one.
      inbox = undefined;
      this.close();
      throw err;
    }
    this.started = true;
    const waiting = inbox;
    inbox = undefined;
    for (const bytes of waiting) this.enqueue(bytes);
    if (overflowed) this.resync();
  }

  private async readHead(): Promise<bigint> {
    const room = await this.prisma.room.findUnique({
      where: { id: this.roomId },
      select: { lastSeq: true },
    });
    return room?.lastSeq ?? 0n;
  }

  /**
   * Catches up with storage: events published while the bus was down, or
   * whose gap fill failed, are read from room_events. `knownHead`: the
   * room's last sequence if the caller already read it.
   */
  resync(knownHead?: bigint): void {
    if (this.closed) return;
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        const head = knownHead ?? (await this.readHead());
        if (head > this.head) await this.fill(head);
      })
      .catch((err: unknown) => this.retryLater(err));
  }

  /** Storage failed us: try the resync again after a pause, until it works. */
  private retryLater(err: unknown): void {
    if (this.closed) return;
    this.logger.warn({ err, roomId: this.roomId }, "room hub could not read events: retrying");
    if (this.retry) return;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, maxRetryDelayMs);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.resync();
    }, this.retryDelayMs);
    this.retry.unref();
  }

  /** Reads and hands out every stored event after the head, up to `upTo`. */
  private async fill(upTo: bigint): Promise<void> {
    while (this.head < upTo && !this.closed) {
      const missing = await readEvents(this.prisma, this.roomId, this.head, upTo, fillPage);
      if (missing.length === 0) break;
      for (const m of missing) this.dispatch(m);
    }
    this.retryDelayMs = minRetryDelayMs / 2;
  }

  /** Processes bus messages one at a time, in arrival order. */
  private enqueue(bytes: Uint8Array): void {
    this.chain = this.chain
      .then(() => this.process(bytes))
      .catch((err: unknown) => this.retryLater(err));
  }

  private async process(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    const msg = decodeBus(bytes);
    if (msg.payload.case !== "roomEvent") {
      const f = this.signalFrame(msg);
      if (f) for (const l of this.listeners) l.onRoomSignal(msg, f);
      return;
    }
    const rf = roomFrame(msg.payload.value);
    if (rf.seq <= this.head) return;
    // A gap: every sequence below this one is committed, so storage has them.
    if (rf.seq > this.head + 1n) await this.fill(rf.seq - 1n);
    if (rf.seq === this.head + 1n) this.dispatch(rf);
  }

  /**
   * Stored events in (after, upTo], at most `limit`, if memory has all of
   * them; undefined sends the caller to room_events.
   */
  recentRange(after: bigint, upTo: bigint, limit: number): RoomFrame[] | undefined {
    if (upTo <= after) return [];
    const first = this.recent[0]?.seq;
    if (first === undefined || after + 1n < first || upTo > this.head) return undefined;
    const start = Number(after + 1n - first);
    const end = Math.min(start + limit, Number(upTo - first) + 1);
    return this.recent.slice(start, end);
  }

  private dispatch(rf: RoomFrame): void {
    if (rf.seq !== this.head + 1n) return;
    this.head = rf.seq;
    if (this.recentLimit > 0) {
      this.recent.push(rf);
      // Trimmed in steps: one copy per `recentLimit` events, not per event.
      if (this.recent.length >= 2 * this.recentLimit) {
        this.recent = this.recent.slice(this.recent.length - this.recentLimit);
      }
    }
    for (const l of this.listeners) l.onRoomEvent(rf);
  }

  /** Stops listening to the bus; idempotent. */
  close(): void {
    this.closed = true;
    this.recent = [];
    clearTimeout(this.lingering);
    clearTimeout(this.retry);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

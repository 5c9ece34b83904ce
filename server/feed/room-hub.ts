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
  private closed = false;
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
  }

  private async start(): Promise<void> {
    // Subscribe first, then read the head: an event committed in between
    // is both in the read and on the bus, and the sequence dedupes it.
    const inbox: Uint8Array[] = [];
    let started = false;
    this.unsubscribe = await this.broker.subscribe(channels.room(this.roomId), (bytes) => {
      if (started) this.enqueue(bytes);
      else inbox.push(bytes);
    });
    const room = await this.prisma.room.findUnique({
      where: { id: this.roomId },
      select: { lastSeq: true },
    });
    this.head = room?.lastSeq ?? 0n;
    started = true;
    for (const bytes of inbox) this.enqueue(bytes);
  }

  /** Processes bus messages one at a time, in arrival order. */
  private enqueue(bytes: Uint8Array): void {
    this.chain = this.chain
      .then(() => this.process(bytes))
      .catch((err: unknown) =>
        this.logger.error({ err, roomId: this.roomId }, "room hub failed on a message"),
      );
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
    if (rf.seq > this.head + 1n) {
      const missing = await readEvents(this.prisma, this.roomId, this.head, rf.seq - 1n, 100_000);
      for (const m of missing) this.dispatch(m);
    }
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

  /** Stops listening to the bus. */
  close(): void {
    this.closed = true;
    this.recent = [];
    clearTimeout(this.lingering);
    this.unsubscribe?.();
  }
}

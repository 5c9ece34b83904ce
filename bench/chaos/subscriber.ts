/**
 * A chat client's live feed that survives anything: one
 * FeedService.Subscribe stream, resumed after every break with the last
 * sequence seen per room (on either instance), reloading a room through
 * MessageService.ListMessages when the server answers `reset`, as the
 * README tells clients to. It also leaves on purpose now and then (see
 * `drop`) and comes back, sometimes far behind.
 *
 * Everything that arrives is recorded per room ({@link RoomView}) for the
 * checks at the end; what breaks the feed's promise (a duplicate, an event
 * ahead of the next one owed) is counted when it happens.
 */
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import type { FeedEvent } from "../../gen/chat/v1/feed_pb.js";
import { type CallFailure, classifyFailure, retryDelayMs } from "./call-errors.js";
import { authOptions, type ClientSpec, nowMs, sleep } from "./clients.js";
import { RoomView } from "./room-view.js";

/** What a subscriber needs. */
export interface SubscriberSpec extends ClientSpec {
  /** A stream without `ready` after this long is given up and retried elsewhere. */
  readyTimeoutMs: number;
  /** Bound on one ListMessages call. */
  callTimeoutMs: number;
  /**
   * Heartbeat interval to ask for (SubscribeRequest.heartbeat_interval_ms;
   * 0: the server's default). Twice the interval granted in `ready`
   * without a frame and the stream is given up: how a client notices a
   * frozen server.
   */
  heartbeatMs: number;
  /** Called when the subscriber is live again after a fault (see `expectLive`). */
  onLive(key: number, ms: number): void;
  /** For problems worth a line in the log, and each stream's start and end (chaos.log). */
  log(line: string): void;
}

/** Counters of one subscriber. */
export interface SubscriberStats {
  attempts: number;
  readies: number;
  /** Streams that broke (not by our own choice). */
  breaks: number;
  readyTimeouts: number;
  idleTimeouts: number;
  voluntaryDrops: number;
  roomEvents: number;
  duplicates: number;
  /** Events that arrived while an earlier one was still owed. */
  ahead: number;
  /** Owed events that arrived after a later one. */
  late: number;
  resets: number;
  reloadCalls: number;
  reloadedEvents: number;
  /** Reloads that found fewer messages than the reset promised. */
  reloadsShort: number;
  /** `ready` without a room the stream carried before, or with one it never had. */
  roomsChanged: number;
  /** room_added/room_removed (nobody joins or leaves during the run), events of unknown rooms. */
  unexpected: number;
  heartbeats: number;
  otherEvents: number;
}

/** One resuming feed client. */
export class ChaosSubscriber {
  readonly views = new Map<bigint, RoomView>();
  readonly stats: SubscriberStats = {
    attempts: 0,
    readies: 0,
    breaks: 0,
    readyTimeouts: 0,
    idleTimeouts: 0,
    voluntaryDrops: 0,
    roomEvents: 0,
    duplicates: 0,
    ahead: 0,
    late: 0,
    resets: 0,
    reloadCalls: 0,
    reloadedEvents: 0,
    reloadsShort: 0,
    roomsChanged: 0,
    unexpected: 0,
    heartbeats: 0,
    otherEvents: 0,
  };
  /** Instance of the current (or last) stream. */
  instance = -1;
  /** A stream is open and `ready` arrived. */
  live = false;
  /** Away on purpose until then (ms, wall clock). */
  absentUntil = 0;
  /** Measurements (see `expectLive`) this subscriber has not yet seen events after: key → since (ms). */
  readonly pendingLive = new Map<number, number>();
  /** Last frame of the current stream (ms). */
  lastFrameAt = 0;
  heartbeatMs = 15_000;
  /** Examples of what went wrong, for the report. */
  readonly problems: string[] = [];
  private started = false;
  private stopping = false;
  private current:
    | { abort: AbortController; why?: "voluntary" | "stop" | "ready" | "idle" }
    | undefined;
  private wake = new AbortController();
  private running: Promise<void> | undefined;
  private readonly reloads = new Set<Promise<void>>();

  constructor(private readonly spec: SubscriberSpec) {}

  get index(): number {
    return this.spec.index;
  }

  /** True while away on purpose. */
  get absent(): boolean {
    return this.absentUntil > nowMs();
  }

  /** Starts the feed (first stream: live from where every room stands). */
  start(): void {
    this.running ??= this.loop();
  }

  /** Leaves for `ms` and resumes then, on a random instance; false if not now. */
  drop(ms: number): boolean {
    if (this.stopping || this.absent || this.pendingLive.size > 0 || !this.started) return false;
    this.stats.voluntaryDrops += 1;
    this.absentUntil = nowMs() + ms;
    this.abortCurrent("voluntary");
    return true;
  }

  /** Comes back now if away on purpose. */
  returnNow(): void {
    this.absentUntil = 0;
    this.wake.abort();
  }

  /**
   * From `since` on, the next message committed after `since` that
   * arrives on the stream reports the wait to `onLive(key, ...)`; `key`
   * names the measurement (a fault's back to live, or its stall).
   */
  expectLive(key: number, since: number): void {
    this.pendingLive.set(key, since);
  }

  /** Gives up waiting for `key`; true if it was still pending. */
  cancelLive(key: number): boolean {
    return this.pendingLive.delete(key);
  }

  /** Ends the stream if nothing arrived for twice the heartbeat interval (checked from outside). */
  checkIdle(now: number): void {
    if (this.live && now - this.lastFrameAt > 2 * this.heartbeatMs + 1_000) {
      this.stats.idleTimeouts += 1;
      this.abortCurrent("idle");
    }
  }

  /** Stops the stream and waits for running reloads. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abortCurrent("stop");
    this.wake.abort();
    await this.running;
    await Promise.all([...this.reloads]);
  }

  /** Reloads still running. */
  get reloading(): number {
    return this.reloads.size;
  }

  /** The positions to resume from: the last sequence seen per room. */
  positions(): { roomId: bigint; lastSeq: bigint }[] {
    return [...this.views.values()].map((v) => ({ roomId: v.roomId, lastSeq: v.next - 1n }));
  }

  private abortCurrent(why: "voluntary" | "stop" | "ready" | "idle"): void {
    const c = this.current;
    if (!c || c.abort.signal.aborted) return;
    c.why = why;
    c.abort.abort();
  }

  private problem(line: string): void {
    if (this.problems.length < 20) this.problems.push(`${new Date().toISOString()} ${line}`);
    this.spec.log(`subscriber ${this.spec.index}: ${line}`);
  }

  private async loop(): Promise<void> {
    const { spec } = this;
    let attempt = 0;
    let target = spec.random.int(spec.instances);
    let lastFailure: CallFailure | undefined;
    while (!this.stopping) {
      const away = this.absentUntil - nowMs();
      if (away > 0) {
        this.wake = new AbortController();
        await sleep(away, this.wake.signal);
        continue;
      }
      const c: { abort: AbortController; why?: "voluntary" | "stop" | "ready" | "idle" } = {
        abort: new AbortController(),
      };
      this.current = c;
      this.instance = target;
      this.stats.attempts += 1;
      const startedAt = nowMs();
      const trace = (what: string) =>
        spec.log(
          `subscriber ${spec.index} @${target}: ${what} (${Math.round(nowMs() - startedAt)} ms)`,
        );
      trace("subscribe");
      const readyTimer = setTimeout(() => {
        if (!this.live) {
          this.stats.readyTimeouts += 1;
          this.abortCurrent("ready");
        }
      }, spec.readyTimeoutMs);
      let failure: CallFailure | undefined;
      try {
        const stream = spec.connections
          .to(target)
          .feed.subscribe(
            { positions: this.positions(), heartbeatIntervalMs: spec.heartbeatMs },
            authOptions(spec.token, c.abort.signal),
          );
        let first = true;
        for await (const res of stream) {
          this.lastFrameAt = nowMs();
          const ev = res.event;
          if (first) {
            first = false;
            if (ev?.event.case !== "ready") {
              this.stats.unexpected += 1;
              this.problem(`first event is ${ev?.event.case}, not ready`);
            }
          }
          if (ev) this.onEvent(ev, target);
          if (ev?.event.case === "ready") trace("ready");
          if (this.live && attempt > 0) attempt = 0;
        }
        if (!c.abort.signal.aborted) {
          failure = {
            code: "ended",
            message: "the server ended the feed without an error",
            fromServer: true,
          };
        }
      } catch (err) {
        if (!c.why || c.why === "ready" || c.why === "idle") {
          failure = classifyFailure(err);
          if (c.why) failure = { ...failure, code: `${c.why}-timeout`, fromServer: false };
        }
      } finally {
        clearTimeout(readyTimer);
        this.live = false;
        this.current = undefined;
      }
      trace(
        failure ? `ended: ${failure.code}: ${failure.message.slice(0, 100)}` : `left (${c.why})`,
      );
      if (this.stopping) break;
      if (failure) {
        this.stats.breaks += 1;
        lastFailure = failure;
        if (spec.failures.add(failure, `subscriber ${spec.index} @${target}`, "Subscribe")) {
          this.problem(`Subscribe @${target}: ${failure.code}: ${failure.message}`);
        }
        // Elsewhere next time (a load balancer would route us to a live instance).
        target = (target + 1) % spec.instances;
        await sleep(retryDelayMs(attempt++, lastFailure, () => spec.random.next()));
      } else {
        // Back from a voluntary absence: either instance.
        target = spec.random.int(spec.instances);
        attempt = 0;
      }
    }
  }

  private onEvent(ev: FeedEvent, target: number): void {
    const e = ev.event;
    switch (e.case) {
      case "ready": {
        this.stats.readies += 1;
        this.live = true;
        this.started = true;
        if (e.value.heartbeatIntervalMs > 0) this.heartbeatMs = e.value.heartbeatIntervalMs;
        const rooms = new Map(e.value.rooms.map((r) => [r.roomId, r.lastSeq]));
        if (this.views.size === 0) {
          for (const [roomId, lastSeq] of rooms)
            this.views.set(roomId, new RoomView(roomId, lastSeq));
          return;
        }
        for (const roomId of this.views.keys()) {
          if (!rooms.has(roomId)) {
            this.stats.roomsChanged += 1;
            this.problem(`ready @${target} lacks room ${roomId}`);
          }
        }
        for (const roomId of rooms.keys()) {
          if (!this.views.has(roomId)) {
            this.stats.roomsChanged += 1;
            this.problem(`ready @${target} has new room ${roomId}`);
          }
        }
        return;
      }
      case "roomEvent":
        this.onRoomEvent(e.value, target);
        return;
      case "reset": {
        const view = this.views.get(e.value.roomId);
        if (!view) {
          this.stats.unexpected += 1;
          this.problem(`reset of unknown room ${e.value.roomId}`);
          return;
        }
        this.stats.resets += 1;
        const from = view.next - 1n;
        const to = e.value.lastSeq;
        if (to < from) {
          this.problem(`reset of room ${view.roomId} to ${to}, behind our position ${from}`);
        }
        view.next = to + 1n;
        if (to > from) this.reload(view, from, to);
        return;
      }
      case "heartbeat":
        this.stats.heartbeats += 1;
        return;
      case "roomAdded":
      case "roomRemoved":
        this.stats.unexpected += 1;
        this.problem(`unexpected ${e.case} @${target}`);
        return;
      default:
        this.stats.otherEvents += 1;
    }
  }

  private onRoomEvent(ev: RoomEvent, target: number): void {
    const view = this.views.get(ev.roomId);
    if (!view) {
      this.stats.unexpected += 1;
      this.problem(`event of unknown room ${ev.roomId} @${target}`);
      return;
    }
    this.stats.roomEvents += 1;
    const expected = view.next;
    const arrival = view.onStream(ev);
    switch (arrival) {
      case "next":
        break;
      case "duplicate":
      case "before-start":
        this.stats.duplicates += 1;
        this.problem(`room ${ev.roomId} seq ${ev.seq} again @${target} (expected ${expected})`);
        break;
      case "ahead":
        this.stats.ahead += 1;
        this.problem(`room ${ev.roomId} seq ${ev.seq} @${target} while ${expected} was owed`);
        break;
      case "late":
        this.stats.late += 1;
        break;
    }
    if (this.pendingLive.size > 0 && ev.change.case === "messageCreated") {
      const sentAt = textTime(ev.change.value.message?.text ?? "");
      if (sentAt === undefined) return;
      const now = nowMs();
      for (const [key, since] of this.pendingLive) {
        if (sentAt >= since) {
          this.pendingLive.delete(key);
          this.spec.onLive(key, now - since);
        }
      }
    }
  }

  /**
   * Loads (from, to] with ListMessages, as a client does after `reset`,
   * retrying on either instance until it has them.
   */
  private reload(view: RoomView, from: bigint, to: bigint): void {
    const { spec } = this;
    const task = (async () => {
      let after = from;
      let target = this.instance;
      let last: CallFailure | undefined;
      for (let attempt = 0; after < to && !this.stopping; ) {
        this.stats.reloadCalls += 1;
        try {
          const res = await spec.connections.to(target).messages.listMessages(
            {
              roomId: view.roomId,
              anchor: { case: "afterSeq", value: after },
              limit: 200,
            },
            authOptions(spec.token, undefined, spec.callTimeoutMs),
          );
          attempt = 0;
          let progressed = false;
          for (const m of res.messages) {
            if (m.seq <= after || m.seq > to) continue;
            if (!view.onReload(m.seq, m.id)) {
              this.stats.duplicates += 1;
              this.problem(`room ${view.roomId} seq ${m.seq} reloaded but already seen`);
            }
            this.stats.reloadedEvents += 1;
            after = m.seq;
            progressed = true;
          }
          if (!progressed) {
            this.stats.reloadsShort += 1;
            this.problem(
              `reload of room ${view.roomId} (${from}, ${to}] stopped at ${after}: ListMessages @${target} had nothing more`,
            );
            return;
          }
        } catch (err) {
          last = classifyFailure(err);
          if (spec.failures.add(last, `subscriber ${spec.index} @${target}`, "ListMessages")) {
            this.problem(`ListMessages @${target}: ${last.code}: ${last.message}`);
          }
          target = (target + 1) % spec.instances;
          await sleep(retryDelayMs(attempt++, last, () => spec.random.next()));
        }
      }
    })();
    this.reloads.add(task);
    void task.finally(() => this.reloads.delete(task));
  }
}

/** The send time a chaos sender put at the start of a message's text (`t=<ms> ...`). */
export function textTime(text: string): number | undefined {
  if (!text.startsWith("t=")) return undefined;
  const end = text.indexOf(" ");
  const t = Number(text.slice(2, end < 0 ? undefined : end));
  return Number.isFinite(t) ? t : undefined;
}

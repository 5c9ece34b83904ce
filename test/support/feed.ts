/**
 * Reading feeds in tests: a stream reader with timeouts that never loses an
 * item, a Subscribe reader that skips background noise, a Chat stream with
 * its request side, and short descriptions of events to compare.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, ConnectError } from "@connectrpc/connect";
import type { RoomEvent } from "../../gen/chat/v1/event_pb.js";
import {
  type ChatRequest,
  ChatRequestSchema,
  type ChatResponse,
  type FeedEvent,
  type FeedService,
  type SubscribeRequestSchema,
  type SubscribeResponse,
} from "../../gen/chat/v1/feed_pb.js";

/** One feed event as the oneof (case + value). */
export type Ev = FeedEvent["event"];

/** Thrown by readers when nothing arrived in time. */
export class ReadTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
  }
}

/** The outcome of one pull: an item, the normal end, or the stream's error. */
type Pull<T> =
  | { kind: "item"; value: T }
  | { kind: "end" }
  | { kind: "error"; error: ConnectError };

/**
 * Reads a stream one item at a time with timeouts. A pull that times out
 * stays pending and is picked up by the next read, so nothing is lost.
 */
export class StreamReader<T> {
  private readonly it: AsyncIterator<T>;
  private pending: Promise<Pull<T>> | undefined;
  /** Everything read so far, in order. */
  readonly seen: T[] = [];
  /** Set once the stream ended (normally or with an error). */
  outcome: { kind: "end" } | { kind: "error"; error: ConnectError } | undefined;

  constructor(
    iterable: AsyncIterable<T>,
    readonly abortController: AbortController,
  ) {
    this.it = iterable[Symbol.asyncIterator]();
  }

  private pull(): Promise<Pull<T>> {
    if (!this.pending) {
      this.pending = this.it.next().then(
        (r): Pull<T> => (r.done ? { kind: "end" } : { kind: "item", value: r.value }),
        (err: unknown): Pull<T> => ({ kind: "error", error: ConnectError.from(err) }),
      );
    }
    return this.pending;
  }

  /** The next pull outcome, or undefined after `ms` without one. */
  async poll(ms: number): Promise<Pull<T> | undefined> {
    if (this.outcome) return this.outcome;
    const p = this.pull();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      p,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
    clearTimeout(timer);
    if (!r) return undefined;
    this.pending = undefined;
    if (r.kind === "item") this.seen.push(r.value);
    else this.outcome = r;
    return r;
  }

  /** The next item; throws the stream's error, or on end or timeout. */
  async next(ms = 5_000, what = "the next item"): Promise<T> {
    const r = await this.poll(ms);
    if (!r) throw new ReadTimeout(what, ms);
    if (r.kind === "error") throw r.error;
    if (r.kind === "end") throw new Error(`stream ended while waiting for ${what}`);
    return r.value;
  }

  /** Items until the stream fails; returns them and the error. */
  async untilError(ms = 5_000): Promise<{ items: T[]; error: ConnectError }> {
    const items: T[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await this.poll(Math.max(1, deadline - Date.now()));
      if (!r) throw new ReadTimeout("the stream to fail", ms);
      if (r.kind === "error") return { items, error: r.error };
      if (r.kind === "end") throw new Error("stream ended without an error");
      items.push(r.value);
    }
  }

  /** Items that arrive within `ms` (stops early at the end of the stream). */
  async drain(ms: number): Promise<T[]> {
    const items: T[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return items;
      const r = await this.poll(left);
      if (r?.kind !== "item") return items;
      items.push(r.value);
    }
  }

  close(): void {
    this.abortController.abort();
  }
}

/** Reader of a Subscribe stream, with feed-specific helpers. */
export class FeedReader {
  readonly reader: StreamReader<SubscribeResponse>;

  constructor(iterable: AsyncIterable<SubscribeResponse>, ac: AbortController) {
    this.reader = new StreamReader(iterable, ac);
  }

  /** Opens a Subscribe stream. */
  static open(
    client: Client<typeof FeedService>,
    req: MessageInitShape<typeof SubscribeRequestSchema> = {},
    ac = new AbortController(),
  ): FeedReader {
    return new FeedReader(client.subscribe({ positions: [], ...req }, { signal: ac.signal }), ac);
  }

  /** The next frame's event, heartbeats included. */
  async nextAny(ms = 5_000): Promise<Ev> {
    return evOf(await this.reader.next(ms, "a feed frame"));
  }

  /** The next event that is not background noise (see {@link isNoise}). */
  async next(ms = 5_000): Promise<Ev> {
    const deadline = Date.now() + ms;
    for (;;) {
      const ev = evOf(await this.reader.next(Math.max(1, deadline - Date.now()), "a feed event"));
      if (!isNoise(ev)) return ev;
    }
  }

  /** The `ready` frame, which must come first. */
  async ready(ms = 5_000) {
    const ev = await this.nextAny(ms);
    if (ev.case !== "ready") throw new Error(`expected ready first, got ${describe(ev)}`);
    return ev.value;
  }

  /** The next `n` events (noise skipped). */
  async take(n: number, ms = 5_000): Promise<Ev[]> {
    const deadline = Date.now() + ms;
    const out: Ev[] = [];
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Events (noise skipped) up to and including the first matching one. */
  async until(pred: (ev: Ev) => boolean, ms = 5_000): Promise<Ev[]> {
    const deadline = Date.now() + ms;
    const out: Ev[] = [];
    for (;;) {
      const ev = await this.next(Math.max(1, deadline - Date.now()));
      out.push(ev);
      if (pred(ev)) return out;
    }
  }

  /** Every event arriving within `ms`, noise skipped. */
  async quiet(ms: number): Promise<Ev[]> {
    return (await this.reader.drain(ms)).map(evOf).filter((e) => !isNoise(e));
  }

  /** Reads until the stream fails; returns the events before and the error. */
  async error(ms = 5_000): Promise<{ events: Ev[]; error: ConnectError }> {
    const { items, error } = await this.reader.untilError(ms);
    return { events: items.map(evOf), error };
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * Frames that come and go with timing rather than with what a test does:
 * heartbeats, presence and room stats. Event assertions skip them.
 */
export function isNoise(ev: Ev): boolean {
  return ev.case === "heartbeat" || ev.case === "presence" || ev.case === "roomStats";
}

/** The oneof of a frame. */
export function evOf(r: SubscribeResponse): Ev {
  return r.event?.event ?? { case: undefined };
}

/** A short, comparable description of a feed event. */
export function describe(ev: Ev): string {
  switch (ev.case) {
    case "roomEvent":
      return roomEventLabel(ev.value);
    case "ready":
      return `ready ${ev.value.rooms.map((r) => `${r.roomId}@${r.lastSeq}`).join(",")}`;
    case "reset":
      return `reset ${ev.value.roomId} reason=${ev.value.reason} last=${ev.value.lastSeq}`;
    case "roomAdded":
      return `room_added ${ev.value.room?.id}`;
    case "roomRemoved":
      return `room_removed ${ev.value.roomId}`;
    case "typing":
      return `typing ${ev.value.roomId} ${ev.value.userId} ${ev.value.typing}`;
    case "readMarker":
      return `read_marker ${ev.value.roomId} ${ev.value.lastReadSeq}`;
    default:
      return String(ev.case);
  }
}

/** `room:seq:change[:detail]` of a room event. */
export function roomEventLabel(e: RoomEvent): string {
  const c = e.change;
  let detail = "";
  if (c.case === "messageCreated") detail = `:${c.value.message?.text ?? ""}`;
  else if (c.case === "membersAdded")
    detail = `:${c.value.members.map((m) => m.user?.id).join("+")}`;
  else if (c.case === "memberRemoved") detail = `:${c.value.userId}/${c.value.reason}`;
  return `${e.roomId}:${e.seq}:${c.case}${detail}`;
}

/** Labels of the room events among `evs`, in order. */
export function roomEvents(evs: Ev[]): RoomEvent[] {
  return evs.flatMap((e) => (e.case === "roomEvent" ? [e.value] : []));
}

/** An async iterable fed by `push`; for client request streams. */
export class Pushable<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  push(item: T): void {
    this.items.push(item);
    this.waiter?.();
  }

  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = undefined;
    }
  }
}

/** A Chat stream with its request side. */
export class ChatStream {
  readonly requests = new Pushable<ChatRequest>();
  readonly reader: StreamReader<ChatResponse>;
  private n = 0;

  constructor(
    client: Client<typeof FeedService>,
    readonly ac = new AbortController(),
  ) {
    this.reader = new StreamReader(client.chat(this.requests, { signal: ac.signal }), ac);
  }

  /** Sends a command; returns its request id. */
  command(
    command: MessageInitShape<typeof ChatRequestSchema>["command"],
    requestId = `r${++this.n}`,
  ): string {
    this.requests.push(create(ChatRequestSchema, { requestId, command }));
    return requestId;
  }

  /** Responses up to and including the first matching one (noise skipped). */
  async until(pred: (r: ChatResponse) => boolean, ms = 5_000): Promise<ChatResponse[]> {
    const deadline = Date.now() + ms;
    const out: ChatResponse[] = [];
    for (;;) {
      const r = await this.reader.next(Math.max(1, deadline - Date.now()), "a chat response");
      if (r.response.case === "event" && isNoise(r.response.value.event)) continue;
      out.push(r);
      if (pred(r)) return out;
    }
  }

  close(): void {
    this.requests.end();
    this.ac.abort();
  }
}

/** A short description of a Chat response. */
export function describeChat(r: ChatResponse): string {
  const x = r.response;
  switch (x.case) {
    case "event":
      return describe(x.value.event);
    case "ack":
      return `ack ${x.value.requestId}${x.value.result.case ? ` ${x.value.result.case}` : ""}`;
    case "error":
      return `error ${x.value.requestId} ${x.value.code}`;
    default:
      return "empty";
  }
}

/**
 * The resumable feed over FeedService.Chat, the bidirectional stream
 * (HTTP/2 only: browsers cannot send on a streaming request). The feed is
 * the same as over Subscribe; in addition commands (send, typing, read
 * markers, edits, reactions) go up the same stream and each is answered by
 * an `ack` or an `error` carrying its request id. Sends are retried like
 * unary ones, with the same clientMsgId, across reconnects.
 *
 * Commands are answered only while the feed is being iterated (the loop
 * owns the connection). Answers are read by their own task, so awaiting a
 * command inside the loop body is fine.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { AsyncQueue } from "../async-queue.js";
import { commandErrorToConnectError } from "../errors.js";
import {
  type ChatRequest,
  ChatRequestSchema,
  type CommandAck,
  type FeedEvent,
  type FeedService,
} from "../gen/chat/v1/feed_pb.js";
import type {
  AddReactionResponse,
  DeleteMessageResponse,
  EditMessageResponse,
  MarkReadResponse,
  RemoveReactionResponse,
  SendMessageResponse,
} from "../gen/chat/v1/message_pb.js";
import type { RetryOptions } from "../retry.js";
import { defaultAttemptTimeoutMs, type SendOptions, sendWithRetry } from "../send.js";
import {
  type FeedDeps,
  type FeedOptions,
  type FeedRequest,
  ResumableFeed,
} from "./resumable-feed.js";

/** A command of the Chat stream (ChatRequest.command). */
export type ChatCommand = MessageInitShape<typeof ChatRequestSchema>["command"];

/** Options of one command. */
export interface CommandOptions {
  signal?: AbortSignal;
  /**
   * Bound (ms, default 15 s) on waiting for a live stream plus the answer;
   * past it the command fails with UNAVAILABLE (not connected) or
   * DEADLINE_EXCEEDED (no answer).
   */
  timeoutMs?: number;
}

/**
 * Feed events not yet taken by the loop; past this the connection is
 * dropped and resumed later (positions only count what was handed out).
 */
const MAX_BUFFERED_EVENTS = 10_000;

interface Pending {
  resolve(ack: CommandAck): void;
  reject(err: ConnectError): void;
}

/** One open Chat call. */
interface Connection {
  outbox: AsyncQueue<ChatRequest>;
  live: boolean;
  /** Commands sent on this call and not answered yet. */
  unanswered: Set<string>;
}

/** The Chat call of a feed and the commands in flight on it. */
class ChatChannel {
  private conn: Connection | undefined;
  private readonly pending = new Map<string, Pending>();
  private liveWaiters: (() => void)[] = [];
  private counter = 0;

  constructor(private readonly feed: Client<typeof FeedService>) {}

  private nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  /** Opens a Chat call that subscribes as `request` says; its feed events. */
  open(request: FeedRequest, signal: AbortSignal): AsyncIterable<FeedEvent> {
    const conn: Connection = { outbox: new AsyncQueue(), live: false, unanswered: new Set() };
    this.conn = conn;
    const events = new AsyncQueue<FeedEvent>();
    const subscribeId = this.nextId("s");
    conn.outbox.push(
      create(ChatRequestSchema, {
        requestId: subscribeId,
        command: { case: "subscribe", value: request },
      }),
    );
    const pump = async () => {
      try {
        for await (const res of this.feed.chat(conn.outbox, { signal })) {
          const r = res.response;
          if (r.case === "event") {
            if (events.closed) return;
            if (events.size >= MAX_BUFFERED_EVENTS) {
              throw new ConnectError(
                "feed events were not taken in time; resuming later",
                Code.ResourceExhausted,
              );
            }
            events.push(r.value);
            if (r.value.event.case === "ready") this.markLive(conn);
          } else if (r.case === "ack") {
            if (r.value.requestId !== subscribeId) this.settle(conn, r.value.requestId, r.value);
          } else if (r.case === "error") {
            const err = commandErrorToConnectError(r.value.code, r.value.message, r.value.details);
            // A refused subscribe ends the feed like a refused Subscribe.
            if (r.value.requestId === subscribeId) throw err;
            this.settle(conn, r.value.requestId, err);
          }
        }
        events.end();
      } catch (err) {
        events.end(http2Required(ConnectError.from(err)));
      } finally {
        this.closeConnection(conn);
      }
    };
    void pump();
    return events;
  }

  private markLive(conn: Connection): void {
    if (this.conn !== conn) return;
    conn.live = true;
    for (const wake of this.liveWaiters.splice(0)) wake();
  }

  private closeConnection(conn: Connection): void {
    conn.live = false;
    conn.outbox.end();
    if (this.conn === conn) this.conn = undefined;
    const lost = new ConnectError(
      "the Chat stream ended before the command was answered",
      Code.Unavailable,
    );
    for (const id of conn.unanswered) this.settle(conn, id, lost);
  }

  private settle(conn: Connection, requestId: string, outcome: CommandAck | ConnectError): void {
    conn.unanswered.delete(requestId);
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    if (outcome instanceof ConnectError) p.reject(outcome);
    else p.resolve(outcome);
  }

  /** Waits for a live connection, up to `deadline` (ms since the epoch). */
  private async live(deadline: number, signal?: AbortSignal): Promise<Connection> {
    for (;;) {
      const conn = this.conn;
      if (conn?.live) return conn;
      if (signal?.aborted) throw new ConnectError("the command was canceled", Code.Canceled);
      const left = deadline - Date.now();
      if (left <= 0) throw new ConnectError("the Chat stream is not connected", Code.Unavailable);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal?.addEventListener("abort", done);
        this.liveWaiters.push(done);
      });
    }
  }

  /** Sends one command on the live connection and waits for its answer. */
  async command(command: ChatCommand, opts: CommandOptions = {}): Promise<CommandAck> {
    const deadline = Date.now() + (opts.timeoutMs ?? defaultAttemptTimeoutMs);
    const conn = await this.live(deadline, opts.signal);
    const requestId = this.nextId("c");
    return new Promise<CommandAck>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      const giveUp = (err: ConnectError) => {
        conn.unanswered.delete(requestId);
        this.pending.delete(requestId);
        finish();
        reject(err);
      };
      const timer = setTimeout(
        () => giveUp(new ConnectError("no answer to the command in time", Code.DeadlineExceeded)),
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = () => giveUp(new ConnectError("the command was canceled", Code.Canceled));
      opts.signal?.addEventListener("abort", onAbort);
      this.pending.set(requestId, {
        resolve: (ack) => {
          finish();
          resolve(ack);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      });
      conn.unanswered.add(requestId);
      conn.outbox.push(create(ChatRequestSchema, { requestId, command }));
    });
  }
}

/**
 * A server answers a bidirectional call over HTTP/1.1 with HTTP 505, which
 * Connect reports as UNKNOWN; reconnecting would never help.
 */
function http2Required(err: ConnectError): ConnectError {
  if (err.code !== Code.Unknown || err.rawMessage !== "HTTP 505") return err;
  return new ConnectError(
    "the Chat stream needs HTTP/2: use follow() on an HTTP/1.1 connection",
    Code.FailedPrecondition,
    undefined,
    undefined,
    err,
  );
}

function unexpected(what: string): ConnectError {
  return new ConnectError(`unexpected answer to ${what}`, Code.Internal);
}

/**
 * A resumable feed over the Chat stream, with commands on the same stream.
 * Iterate it like any feed; call its methods from anywhere meanwhile.
 */
export class ChatFeed extends ResumableFeed {
  private readonly channel: ChatChannel;
  private readonly retry: RetryOptions | undefined;

  constructor(
    feedClient: Client<typeof FeedService>,
    deps: Omit<FeedDeps, "connect">,
    options: FeedOptions & { retry?: RetryOptions } = {},
  ) {
    const channel = new ChatChannel(feedClient);
    super({ ...deps, connect: (request, signal) => channel.open(request, signal) }, options);
    this.channel = channel;
    this.retry = options.retry;
  }

  protected override isFatal(error: ConnectError): boolean {
    return super.isFatal(error) || error.code === Code.FailedPrecondition;
  }

  /** Sends any command and returns its ack (no retry). */
  command(command: ChatCommand, opts?: CommandOptions): Promise<CommandAck> {
    return this.channel.command(command, opts);
  }

  /**
   * Sends a message on the stream, retried with the same clientMsgId while
   * the stream is down or the answer does not come (see SendOptions).
   */
  send(roomId: bigint, text: string, options: SendOptions = {}): Promise<SendMessageResponse> {
    return sendWithRetry(roomId, text, options, this.retry, async (req) => {
      const ack = await this.channel.command(
        {
          case: "sendMessage",
          value: {
            roomId: req.roomId,
            text: req.text,
            clientMsgId: req.clientMsgId,
            replyToId: req.replyToId,
          },
        },
        { signal: req.signal, timeoutMs: req.timeoutMs },
      );
      if (ack.result.case !== "sendMessage") throw unexpected("sendMessage");
      return ack.result.value;
    });
  }

  /** Tells the room the caller is (or stopped) typing. */
  async setTyping(roomId: bigint, typing: boolean, opts?: CommandOptions): Promise<void> {
    await this.channel.command({ case: "setTyping", value: { roomId, typing } }, opts);
  }

  /** Moves the caller's read marker. */
  async markRead(roomId: bigint, seq: bigint, opts?: CommandOptions): Promise<MarkReadResponse> {
    const ack = await this.channel.command({ case: "markRead", value: { roomId, seq } }, opts);
    if (ack.result.case !== "markRead") throw unexpected("markRead");
    return ack.result.value;
  }

  /** Replaces the text of one's own message. */
  async editMessage(
    messageId: bigint,
    text: string,
    opts?: CommandOptions,
  ): Promise<EditMessageResponse> {
    const ack = await this.channel.command(
      { case: "editMessage", value: { messageId, text } },
      opts,
    );
    if (ack.result.case !== "editMessage") throw unexpected("editMessage");
    return ack.result.value;
  }

  /** Deletes a message (leaves a tombstone). */
  async deleteMessage(messageId: bigint, opts?: CommandOptions): Promise<DeleteMessageResponse> {
    const ack = await this.channel.command({ case: "deleteMessage", value: { messageId } }, opts);
    if (ack.result.case !== "deleteMessage") throw unexpected("deleteMessage");
    return ack.result.value;
  }

  /** Adds the caller's reaction. */
  async addReaction(
    messageId: bigint,
    emoji: string,
    opts?: CommandOptions,
  ): Promise<AddReactionResponse> {
    const ack = await this.channel.command(
      { case: "addReaction", value: { messageId, emoji } },
      opts,
    );
    if (ack.result.case !== "addReaction") throw unexpected("addReaction");
    return ack.result.value;
  }

  /** Removes the caller's reaction. */
  async removeReaction(
    messageId: bigint,
    emoji: string,
    opts?: CommandOptions,
  ): Promise<RemoveReactionResponse> {
    const ack = await this.channel.command(
      { case: "removeReaction", value: { messageId, emoji } },
      opts,
    );
    if (ack.result.case !== "removeReaction") throw unexpected("removeReaction");
    return ack.result.value;
  }

  /** Round trip on the stream. */
  async ping(opts?: CommandOptions): Promise<void> {
    await this.channel.command({ case: "ping", value: {} }, opts);
  }
}

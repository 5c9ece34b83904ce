/**
 * Sending over the bidirectional `FeedService.Chat` stream instead of one
 * unary SendMessage call per message: what an HTTP/2 client that sends a lot
 * (a bot, a bridge, another service) would do. One stream per sender; each
 * command carries a request id and is answered by an ack or an error with
 * that id. The server runs one stream's commands one at a time, in order.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import {
  type ChatRequest,
  ChatRequestSchema,
  type FeedService,
} from "../../gen/chat/v1/feed_pb.js";
import type {
  SendMessageRequestSchema,
  SendMessageResponse,
} from "../../gen/chat/v1/message_pb.js";

interface Waiting {
  resolve(r: SendMessageResponse): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/** One sender's Chat stream. */
export class ChatSender {
  private readonly queue: ChatRequest[] = [];
  private wake: (() => void) | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;
  private closed = false;
  private readonly ac = new AbortController();

  constructor(
    client: Client<typeof FeedService>,
    token: string,
    private readonly timeoutMs: number,
  ) {
    const responses = client.chat(this.requests(), {
      headers: { authorization: `Bearer ${token}` },
      signal: this.ac.signal,
    });
    void (async () => {
      for await (const r of responses) {
        const res = r.response;
        if (res.case === "ack") {
          const result = res.value.result;
          this.settle(res.value.requestId, (w) =>
            result.case === "sendMessage"
              ? w.resolve(result.value)
              : w.reject(new Error(`unexpected ack ${result.case}`)),
          );
        } else if (res.case === "error") {
          const e = new ConnectError(
            res.value.message,
            codeFromString(res.value.code) ?? Code.Unknown,
          );
          this.settle(res.value.requestId, (w) => w.reject(e));
        }
      }
      this.failAll(new ConnectError("chat stream ended", Code.Unavailable));
    })().catch((err: unknown) => this.failAll(err));
  }

  /** Sends one message; resolves with the ack's SendMessageResponse. */
  send(req: MessageInitShape<typeof SendMessageRequestSchema>): Promise<SendMessageResponse> {
    const requestId = String(++this.next);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.settle(requestId, (w) =>
            w.reject(new ConnectError("no ack in time", Code.DeadlineExceeded)),
          ),
        this.timeoutMs,
      );
      this.waiting.set(requestId, { resolve, reject, timer });
      this.queue.push(
        create(ChatRequestSchema, { requestId, command: { case: "sendMessage", value: req } }),
      );
      this.wake?.();
    });
  }

  /** Ends the stream; calls still waiting fail. */
  close(): void {
    this.closed = true;
    this.wake?.();
    this.ac.abort();
  }

  private settle(id: string, fn: (w: Waiting) => void): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    fn(w);
  }

  private failAll(err: unknown): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, (w) => w.reject(err));
  }

  private async *requests(): AsyncGenerator<ChatRequest> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

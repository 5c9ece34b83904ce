/**
 * The chat client over any Connect transport: typed clients of every
 * chat.v1 service, the token on every call, and what each real client
 * needs on top (login, retried sends, the resumable feed, paging).
 * node.ts and web.ts build the transport from a URL.
 */
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { authTransport } from "./auth-transport.js";
import { ChatFeed } from "./feed/chat-feed.js";
import { type FeedDeps, type FeedOptions, ResumableFeed } from "./feed/resumable-feed.js";
import { AuthService, type LoginResponse } from "./gen/chat/v1/auth_pb.js";
import { FeedService } from "./gen/chat/v1/feed_pb.js";
import {
  type ListMessagesResponse,
  type Message,
  MessageService,
  type SendMessageResponse,
} from "./gen/chat/v1/message_pb.js";
import { ModerationService } from "./gen/chat/v1/moderation_pb.js";
import { type MyRoom, RoomService } from "./gen/chat/v1/room_pb.js";
import { ThreadService } from "./gen/chat/v1/thread_pb.js";
import { type Attachment, UploadService } from "./gen/chat/v1/upload_pb.js";
import { UserService } from "./gen/chat/v1/user_pb.js";
import type { RetryOptions } from "./retry.js";
import { type SendOptions, sendWithRetry } from "./send.js";
import { type TokenProvider, TokenSource } from "./token-source.js";
import { type UploadInput, uploadFile } from "./upload.js";

/** How to reach the server and authenticate, whatever the transport. */
export interface ChatClientBaseOptions {
  /** A fixed access token (e.g. from `login` earlier). */
  token?: string;
  /**
   * Supplies the token instead: asked once, and again whenever the server
   * refuses the current one (see TokenProvider).
   */
  getToken?: TokenProvider;
  /** Retries of send() and ChatFeed.send() (default 8 attempts, 250 ms to 10 s). */
  retry?: RetryOptions;
  /** The server's URL, for upload() (node.ts and web.ts set it from their own). */
  baseUrl?: string;
}

/** Options of {@link createChatClientFromTransport}. */
export interface ChatClientTransportOptions extends ChatClientBaseOptions {
  /** Any Connect transport to the server; the client adds the token. */
  transport: Transport;
}

/** Range of {@link ChatClient.history}. */
export interface HistoryRange {
  /** Messages after this sequence (default 0: from the start). */
  afterSeq?: bigint;
  /** Up to and including this sequence (default: the newest). */
  throughSeq?: bigint;
  /** Messages per ListMessages call (1-200, default 200). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** A client of the chat service. */
export interface ChatClient {
  /** Generated clients, one per service; every call but Register/Login carries the token. */
  readonly auth: Client<typeof AuthService>;
  readonly users: Client<typeof UserService>;
  readonly rooms: Client<typeof RoomService>;
  readonly messages: Client<typeof MessageService>;
  readonly feed: Client<typeof FeedService>;
  readonly uploads: Client<typeof UploadService>;
  readonly threads: Client<typeof ThreadService>;
  /** Mutes, blocks (BlockUser, ListBlockedUsers) and reports with their moderation queue. */
  readonly moderation: Client<typeof ModerationService>;
  /** The transport the clients use (with the token added). */
  readonly transport: Transport;
  /** Logs in and uses the new token from now on. */
  login(username: string, password: string, deviceName?: string): Promise<LoginResponse>;
  /** Revokes the current token on the server and forgets it. */
  logout(): Promise<void>;
  /** Uses `token` from now on (undefined: none, or ask getToken again). */
  setToken(token: string | undefined): void;
  /** The token calls carry now (asks getToken if needed). */
  token(): Promise<string | undefined>;
  /**
   * Sends a text message with a clientMsgId made once and retried on
   * UNAVAILABLE and DEADLINE_EXCEEDED (and RESOURCE_EXHAUSTED with
   * RetryInfo), with backoff and jitter, never sooner than RetryInfo says.
   * A retry of a stored send returns the original (`duplicate: true`).
   */
  send(roomId: bigint, text: string, options?: SendOptions): Promise<SendMessageResponse>;
  /** A resumable feed over FeedService.Subscribe (any HTTP version, browsers). */
  follow(options?: FeedOptions): ResumableFeed;
  /** A resumable feed over FeedService.Chat, with commands on the same stream (HTTP/2). */
  chat(options?: FeedOptions): ChatFeed;
  /** Messages of a room in ascending sequence order, paged through ListMessages. */
  history(roomId: bigint, range?: HistoryRange): AsyncIterable<Message>;
  /** Every room of the caller (all pages of ListMyRooms, archived ones included). */
  listMyRooms(): Promise<MyRoom[]>;
  /**
   * Uploads a file (CreateUpload, then the PUT of its bytes); put the
   * attachment's id in SendOptions.attachmentIds. Needs `baseUrl`.
   */
  upload(input: UploadInput): Promise<Attachment>;
}

/** A chat client on a transport of your own (tests, proxies, custom fetch). */
export function createChatClientFromTransport(options: ChatClientTransportOptions): ChatClient {
  const tokens = new TokenSource(options.token, options.getToken);
  const transport = authTransport(options.transport, tokens);
  const auth = createClient(AuthService, transport);
  const users = createClient(UserService, transport);
  const rooms = createClient(RoomService, transport);
  const messages = createClient(MessageService, transport);
  const feed = createClient(FeedService, transport);
  const uploads = createClient(UploadService, transport);
  const threads = createClient(ThreadService, transport);
  const moderation = createClient(ModerationService, transport);

  async function listMyRooms(): Promise<MyRoom[]> {
    const out: MyRoom[] = [];
    let pageToken = "";
    do {
      const page = await rooms.listMyRooms({ pageSize: 200, pageToken, includeArchived: true });
      out.push(...page.rooms);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  const feedDeps: Omit<FeedDeps, "connect"> = {
    tokens,
    async listMyRoomIds() {
      return new Set((await listMyRooms()).flatMap((r) => (r.room ? [r.room.id] : [])));
    },
    loadLatest(roomId, throughSeq, limit): Promise<ListMessagesResponse> {
      return messages.listMessages({
        roomId,
        anchor: { case: "beforeSeq", value: throughSeq + 1n },
        limit: Math.max(1, Math.min(200, limit)),
      });
    },
  };

  return {
    auth,
    users,
    rooms,
    messages,
    feed,
    uploads,
    threads,
    moderation,
    transport,

    async login(username, password, deviceName = "") {
      const res = await auth.login({ username, password, deviceName });
      tokens.set(res.accessToken);
      return res;
    },

    async logout() {
      try {
        await auth.logout({});
      } finally {
        tokens.set(undefined);
      }
    },

    setToken: (token) => tokens.set(token),
    token: () => tokens.get(),

    send(roomId, text, sendOptions = {}) {
      return sendWithRetry(roomId, text, sendOptions, options.retry, (req) =>
        messages.sendMessage(
          {
            roomId: req.roomId,
            text: req.text,
            clientMsgId: req.clientMsgId,
            replyToId: req.replyToId,
            attachmentIds: sendOptions.attachmentIds ?? [],
            threadRootId: sendOptions.threadRootId ?? 0n,
          },
          { signal: req.signal, timeoutMs: req.timeoutMs },
        ),
      );
    },

    follow(feedOptions) {
      return new ResumableFeed(
        {
          ...feedDeps,
          connect: (request, signal) =>
            (async function* () {
              for await (const res of feed.subscribe(request, { signal })) {
                if (res.event) yield res.event;
              }
            })(),
        },
        feedOptions,
      );
    },

    chat(feedOptions) {
      return new ChatFeed(feed, feedDeps, { ...feedOptions, retry: options.retry });
    },

    async *history(roomId, range = {}) {
      let after = range.afterSeq ?? 0n;
      const through = range.throughSeq;
      const limit = Math.max(1, Math.min(200, range.pageSize ?? 200));
      for (;;) {
        if (through !== undefined && after >= through) return;
        const page = await messages.listMessages(
          { roomId, anchor: { case: "afterSeq", value: after }, limit },
          { signal: range.signal },
        );
        for (const m of page.messages) {
          if (through !== undefined && m.seq > through) return;
          yield m;
          after = m.seq;
        }
        if (!page.hasMoreAfter || page.messages.length === 0) return;
      }
    },

    listMyRooms,

    upload(input) {
      const baseUrl = options.baseUrl;
      if (!baseUrl) throw new Error("upload: the client needs baseUrl");
      return uploadFile(
        {
          baseUrl,
          token: () => tokens.get(),
          createUpload: (req, signal) => uploads.createUpload(req, { signal }),
        },
        input,
      );
    },
  };
}

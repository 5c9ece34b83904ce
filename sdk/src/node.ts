/**
 * The SDK for Node.js: `createChatClient` over connect-node, HTTP/2
 * (cleartext prior knowledge for http://, ALPN for https://) or HTTP/1.1,
 * with the Connect or the gRPC protocol. Everything of the main entry point
 * is exported here too.
 */
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ChatClient,
  type ChatClientBaseOptions,
  createChatClientFromTransport,
} from "./chat-client.js";

export * from "./index.js";

/** How to reach the server from Node.js. */
export interface NodeTransportOptions {
  /** The server, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /**
   * `"2"` (default): one multiplexed connection, needed for `chat()`.
   * `"1.1"`: for proxies that do not speak HTTP/2; `follow()` and unary
   * calls work the same.
   */
  httpVersion?: "2" | "1.1";
  /** Wire protocol (default `"connect"`); `"grpc"` needs HTTP/2. */
  protocol?: "connect" | "grpc";
  /** Extra interceptors, run for every call. */
  interceptors?: Interceptor[];
}

/** Options of {@link createChatClient} for Node.js. */
export interface NodeChatClientOptions
  extends ChatClientBaseOptions,
    Partial<NodeTransportOptions> {
  /** A transport of your own instead of one built from `baseUrl`. */
  transport?: Transport;
}

/** A connect-node transport to the server. */
export function createNodeTransport(options: NodeTransportOptions): Transport {
  const { baseUrl, interceptors = [] } = options;
  if (options.protocol === "grpc") {
    return createGrpcTransport({ baseUrl, interceptors });
  }
  return createConnectTransport({
    baseUrl,
    httpVersion: options.httpVersion ?? "2",
    interceptors,
  });
}

/**
 * A chat client for Node.js:
 *
 * ```ts
 * const chat = createChatClient({ baseUrl: "http://localhost:8080" });
 * await chat.login("bot", "secret password");
 * for await (const item of chat.follow()) { ... }
 * ```
 */
export function createChatClient(options: NodeChatClientOptions): ChatClient {
  let transport = options.transport;
  if (!transport) {
    if (!options.baseUrl) throw new Error("createChatClient: baseUrl or transport is required");
    transport = createNodeTransport({ ...options, baseUrl: options.baseUrl });
  }
  return createChatClientFromTransport({ ...options, transport });
}

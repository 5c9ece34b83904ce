/**
 * The SDK for browsers: `createChatClient` over connect-web (fetch), with
 * the Connect or the gRPC-Web protocol. Nothing here imports Node.js
 * modules. Browsers cannot stream request bodies, so use `follow()` (one
 * Subscribe stream for every room) and unary calls; `chat()` needs Node.
 * Everything of the main entry point is exported here too.
 */
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import {
  type ChatClient,
  type ChatClientBaseOptions,
  createChatClientFromTransport,
} from "./chat-client.js";
import { networkErrorsInterceptor } from "./network-errors.js";

export * from "./index.js";

/** How to reach the server from a browser. */
export interface WebTransportOptions {
  /** The server; default: the page's origin. */
  baseUrl?: string;
  /** Wire protocol (default `"connect"`). */
  protocol?: "connect" | "grpc-web";
  /** Extra interceptors, run for every call. */
  interceptors?: Interceptor[];
  /** A fetch of your own (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
}

/** Options of {@link createChatClient} for browsers. */
export interface WebChatClientOptions extends ChatClientBaseOptions, WebTransportOptions {
  /** A transport of your own instead of one built from `baseUrl`. */
  transport?: Transport;
}

/**
 * A connect-web transport to the server. Network failures surface as
 * UNAVAILABLE (not UNKNOWN), so feeds and sends retry them.
 */
export function createWebTransport(options: WebTransportOptions = {}): Transport {
  const baseUrl = options.baseUrl ?? globalThis.location?.origin;
  if (!baseUrl) throw new Error("createWebTransport: baseUrl is required outside a page");
  const interceptors = [networkErrorsInterceptor(), ...(options.interceptors ?? [])];
  const init = { baseUrl, interceptors, fetch: options.fetch };
  return options.protocol === "grpc-web"
    ? createGrpcWebTransport(init)
    : createConnectTransport(init);
}

/** A chat client for browsers (see createWebTransport). */
export function createChatClient(options: WebChatClientOptions = {}): ChatClient {
  const transport = options.transport ?? createWebTransport(options);
  return createChatClientFromTransport({
    ...options,
    baseUrl: options.baseUrl ?? globalThis.location?.origin,
    transport,
  });
}

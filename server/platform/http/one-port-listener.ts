/**
 * One TCP port for every protocol: HTTP/1.1 (browsers, curl, Connect / gRPC-Web over h1) and
 * cleartext HTTP/2 with prior knowledge (h2c: gRPC clients, buf curl, grpcurl -plaintext).
 *
 * Why not `http2.createServer({ allowHTTP1: true })`: without TLS there is no ALPN, so it never
 * falls back to HTTP/1.1 (curl --http1.1 gets "HTTP/0.9"). Instead we accept raw sockets, sniff
 * the first bytes for the HTTP/2 client connection preface and hand the socket to an inner
 * `http2.Server` or `http.Server` that never listen themselves. See ../shared/NOTES.md.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";

/** Request handler as returned by `connectNodeAdapter`. */
export type OnePortHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface OnePortListenerOptions {
  /** Serves both HTTP/1.1 and HTTP/2 requests (e.g. the result of `connectNodeAdapter`). */
  handler: OnePortHandler;
  /** A client must send its first bytes / complete HTTP/1.1 headers within this time. Default 10 s. */
  headerTimeoutMs?: number;
  /** Extra options for the inner `http2.Server`; `settings` are merged over our defaults. */
  http2?: http2.ServerOptions;
}

export interface OnePortListener {
  /** Starts listening; `port` 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Bound address, or null before `listen` resolved / after close. */
  address(): AddressInfo | null;
  /**
   * Graceful: stop accepting new connections; HTTP/1.1: close idle keep-alive connections and make
   * busy ones close after their current response (Connection: close); HTTP/2: send GOAWAY
   * (session.close()) so in-flight streams finish but no new ones start. Resolves when all
   * connections are gone; after `forceAfterMs` (default 10 s) destroys whatever remains.
   */
  close(forceAfterMs?: number): Promise<void>;
  /** Number of open client connections (for tests / metrics). */
  connectionCount(): number;
}

/** The 24-byte HTTP/2 client connection preface (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** 1 MiB flow-control windows: the 64 KiB default throttles history pages on high-RTT links. */
const H2_WINDOW = 1 << 20;

/** Creates a listener serving `opts.handler` over HTTP/1.1 and h2c on one port. */
export function createOnePortListener(opts: OnePortListenerOptions): OnePortListener {
  const headerTimeoutMs = opts.headerTimeoutMs ?? 10_000;
  const sockets = new Set<net.Socket>();
  const pending = new Set<net.Socket>(); // still sniffing, not yet owned by an inner server
  const sessions = new Set<http2.ServerHttp2Session>();
  const h1Responses = new Set<http.ServerResponse>(); // in-flight HTTP/1.1 responses
  let closing = false;
  let closed: Promise<void> | undefined;
  let onSocketGone = () => {}; // set by close(): re-checks whether everything is gone

  const h1 = http.createServer(
    {
      headersTimeout: headerTimeoutMs,
      requestTimeout: Math.max(300_000, headerTimeoutMs),
      // The timeouts above are only checked on this interval (default 30 s): tighten it.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headerTimeoutMs / 4))),
      // Longer than typical proxy/LB idle timeouts (60 s), so a proxy never reuses a socket
      // we are just closing (-> sporadic 502s).
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      // Requests arriving on a kept-alive connection during shutdown get "Connection: close".
      if (closing) res.shouldKeepAlive = false;
      h1Responses.add(res);
      res.once("close", () => h1Responses.delete(res));
      // Headers already sent with keep-alive when close() started: end the socket afterwards.
      res.once("finish", () => {
        if (closing) req.socket.end();
      });
      opts.handler(req, res);
    },
  );
  // Trap: headersTimeout/requestTimeout (and closeIdleConnections) rely on connection tracking
  // that Node only sets up on "listening" - which never fires for a server that doesn't listen.
  h1.emit("listening");

  const h2Opts = opts.http2 ?? {};
  const h2 = http2.createServer(
    {
      maxSessionMemory: 64, // MB; default 10 rejects streams on sessions with many chat streams
      ...h2Opts,
      settings: { initialWindowSize: H2_WINDOW, ...h2Opts.settings },
    },
    opts.handler,
  );
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    // initialWindowSize is per stream; the connection window must be raised separately.
    session.setLocalWindowSize(H2_WINDOW);
    if (closing) session.close();
  });

  const server = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.once("close", () => {
      sockets.delete(sock);
      pending.delete(sock);
      onSocketGone();
    });
    // Trap: without an error listener an ECONNRESET before dispatch crashes the process.
    // Errors end in "close" anyway; the inner servers add their own handlers later.
    sock.on("error", () => {});
    if (closing) {
      sock.destroy(); // raced with close(): the listening socket was still open
      return;
    }
    pending.add(sock);
    // Slowloris: a client that sends nothing (or only part of the preface) is dropped.
    const onTimeout = () => sock.destroy();
    sock.setTimeout(headerTimeoutMs);
    sock.on("timeout", onTimeout);

    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, H2_PREFACE.length);
      const isH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && n < H2_PREFACE.length) return; // a prefix of the preface: wait for more
      // Decided (full preface, or bytes diverged): hand over with the bytes put back.
      sock.off("data", onData);
      sock.pause();
      sock.off("timeout", onTimeout);
      sock.setTimeout(0);
      pending.delete(sock);
      sock.unshift(buffered);
      if (isH2) {
        // Trap: do NOT resume() here - the Http2Session reads the unshifted bytes itself on
        // construction; resuming would drain them elsewhere ("bad client magic").
        h2.emit("connection", sock);
      } else {
        h1.emit("connection", sock);
        sock.resume(); // the http parser receives the unshifted bytes through "data"
      }
    };
    sock.on("data", onData);
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    address() {
      const addr = server.address();
      return addr !== null && typeof addr === "object" ? addr : null;
    },
    close(forceAfterMs = 10_000) {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const s of sockets) s.destroy();
        }, forceAfterMs);
        // Done when the listening socket is closed and every client socket emitted "close"
        // (net.Server's own "close" can fire a tick before the last socket's "close").
        let serverClosed = false;
        onSocketGone = () => {
          if (!serverClosed || sockets.size > 0) return;
          onSocketGone = () => {};
          clearTimeout(force);
          h1.close(); // clears the connection-checking interval
          h2.close();
          resolve();
        };
        server.close(() => {
          serverClosed = true;
          onSocketGone();
        });
        for (const s of pending) s.destroy();
        for (const res of h1Responses) if (!res.headersSent) res.shouldKeepAlive = false;
        h1.closeIdleConnections();
        for (const s of sessions) s.close(); // GOAWAY; in-flight streams may finish
      });
      return closed;
    },
    connectionCount: () => sockets.size,
  };
}

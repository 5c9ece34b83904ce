/**
 * One TCP port for every protocol: HTTP/1.1 (browsers, curl, Connect / gRPC-Web over h1) and
 * cleartext HTTP/2 with prior knowledge (h2c: gRPC clients, buf curl, grpcurl -plaintext).
 *
 * Why not `http2.createServer({ allowHTTP1: true })`: without TLS there is no ALPN, so it never
 * falls back to HTTP/1.1 (curl --http1.1 gets "HTTP/0.9"). Instead we accept raw sockets, sniff
 * the first bytes for the HTTP/2 client connection preface and hand the socket to an inner
 * `http2.Server` or `http.Server` that never listen themselves (checked on Node 20: three
 * traps, noted where they are handled below).
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { defaults } from "../../config.js";
/** Defaults of {@link ListenerLimits}, from config.ts (the limits section). */
export const defaultListenerLimits = {
    maxConnections: defaults.limits.maxConnections,
    maxConcurrentStreams: defaults.limits.maxConcurrentStreams,
    bodyIdleTimeoutMs: defaults.limits.bodyIdleTimeoutMs,
    requestTimeoutMs: defaults.limits.requestTimeoutMs,
    keepAliveTimeoutMs: defaults.limits.keepAliveTimeoutMs,
    sessionIdleTimeoutMs: defaults.limits.sessionIdleTimeoutMs,
};
/** The 24-byte HTTP/2 client connection preface (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** 1 MiB flow-control windows: the 64 KiB default throttles history pages on high-RTT links. */
const H2_WINDOW = 1 << 20;
/** Per-request body watch, so a streaming call can take itself out of the body timeouts. */
const bodyWatches = new WeakMap();
/**
 * Takes `req` out of the request-body timeouts: for client-streaming and bidirectional calls,
 * whose request side is the client's own stream of messages, sent whenever it has something
 * to say. Without effect on requests the listener does not watch.
 */
export function releaseBodyTimeout(req) {
    bodyWatches.get(req)?.();
    bodyWatches.delete(req);
}
/** Requests that asked `Expect: 100-continue` and were not told to continue yet. */
const awaitingContinue = new WeakSet();
/**
 * Lets a request's body come: answers `100 Continue` if the client asked
 * for it (`Expect: 100-continue`). The listener does not answer it on its
 * own, so whoever reads the body calls this once it has decided to (after
 * the token was checked); a request refused without it never has its body
 * sent by a client that waits for the 100.
 */
export function allowBody(req, res) {
    if (!awaitingContinue.delete(req))
        return;
    if (!res.headersSent && !res.writableEnded)
        res.writeContinue();
}
/** True when a request carries no body at all (nothing to wait for). */
function hasNoBody(req) {
    if ("stream" in req)
        return req.stream.endAfterHeaders;
    const h = req.headers;
    return h["transfer-encoding"] === undefined && (h["content-length"] ?? "0") === "0";
}
/**
 * True once the whole request body has arrived (read or not): HTTP/1.1's `complete`, or the
 * end of an HTTP/2 stream's readable side.
 */
export function requestBodyReceived(req) {
    if ("stream" in req) {
        const state = req.stream
            ._readableState;
        return req.stream.endAfterHeaders || state?.ended === true || req.stream.destroyed;
    }
    return req.complete;
}
/** Creates a listener serving `opts.handler` over HTTP/1.1 and h2c on one port. */
export function createOnePortListener(opts) {
    const headerTimeoutMs = opts.headerTimeoutMs ?? 10_000;
    const limits = { ...defaultListenerLimits, ...opts.limits };
    const onLimit = opts.onLimit ?? (() => { });
    const sockets = new Set();
    const pending = new Set(); // still sniffing, not yet owned by an inner server
    const sessions = new Set();
    const h1Responses = new Set(); // in-flight HTTP/1.1 responses
    let closing = false;
    let closed;
    let onSocketGone = () => { }; // set by close(): re-checks whether everything is gone
    const h1 = http.createServer({
        headersTimeout: headerTimeoutMs,
        requestTimeout: Math.max(limits.requestTimeoutMs, headerTimeoutMs),
        // The timeouts above are only checked on this interval (default 30 s): tighten it.
        connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(Math.min(headerTimeoutMs, limits.requestTimeoutMs) / 4))),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
    }, (req, res) => {
        // Requests arriving on a kept-alive connection during shutdown get "Connection: close".
        if (closing)
            res.shouldKeepAlive = false;
        h1Responses.add(res);
        res.once("close", () => h1Responses.delete(res));
        res.once("finish", () => {
            // Headers already sent with keep-alive when close() started: end the socket afterwards.
            if (closing)
                req.socket.end();
        });
        watchH1Body(req, res);
        opts.handler(req, res);
    });
    /**
     * HTTP/1.1 body timeout: the socket's idle timer runs while the body is incomplete (Node
     * resets it on every byte read). Node emits "timeout" on the request only while it is
     * incomplete; once the body is in, the timer is switched off so a long response (a live
     * feed) never times out here. The whole-request bound is Node's own requestTimeout.
     */
    function watchH1Body(req, res) {
        if (hasNoBody(req))
            return;
        const socket = req.socket;
        const off = () => {
            if (bodyWatches.get(req) === off)
                bodyWatches.delete(req);
            req.off("timeout", onTimeout);
            res.off("timeout", off);
            req.off("end", off);
            res.off("close", off);
            // Once the response is done the socket's timer is Node's (keep-alive): leave it.
            if (!socket.destroyed && !res.writableFinished)
                socket.setTimeout(0);
        };
        const onTimeout = () => {
            off();
            onLimit({ kind: "body-timeout", req, reason: "idle" });
            bodyTimedOut(req, res);
        };
        bodyWatches.set(req, off);
        socket.setTimeout(limits.bodyIdleTimeoutMs);
        req.once("timeout", onTimeout);
        // "timeout" on the response: the body was complete but never read (or still being
        // processed); not a slow body, and the socket must not be destroyed for it.
        res.once("timeout", off);
        req.once("end", off);
        res.once("close", off);
    }
    // `Expect: 100-continue`: Node would answer 100 before the handler runs; here the body is
    // invited only by allowBody(), once the request is known to be wanted.
    h1.on("checkContinue", (req, res) => {
        awaitingContinue.add(req);
        // A client told no (a final answer without 100) may or may not send its body after all:
        // the connection cannot be reused either way.
        res.shouldKeepAlive = false;
        h1.emit("request", req, res);
    });
    // Trap: headersTimeout/requestTimeout (and closeIdleConnections) rely on connection tracking
    // that Node only sets up on "listening" - which never fires for a server that doesn't listen.
    h1.emit("listening");
    const h2Opts = opts.http2 ?? {};
    const h2 = http2.createServer({
        maxSessionMemory: 64, // MB; default 10 rejects streams on sessions with many chat streams
        ...h2Opts,
        settings: {
            initialWindowSize: H2_WINDOW,
            // Advertised and enforced by nghttp2: a stream beyond it gets RST_STREAM REFUSED_STREAM.
            maxConcurrentStreams: limits.maxConcurrentStreams,
            ...h2Opts.settings,
        },
    }, (req, res) => {
        watchH2Body(req, res);
        opts.handler(req, res);
    });
    h2.on("checkContinue", (req, res) => {
        awaitingContinue.add(req);
        h2.emit("request", req, res);
    });
    h2.on("session", (session) => {
        sessions.add(session);
        session.once("close", () => sessions.delete(session));
        // initialWindowSize is per stream; the connection window must be raised separately.
        session.setLocalWindowSize(H2_WINDOW);
        if (closing)
            session.close();
        watchSessionIdle(session);
    });
    /**
     * A session without open streams is closed with GOAWAY: the first stream must come within
     * the header timeout (like HTTP/1.1 headers), later gaps may last sessionIdleTimeoutMs.
     * Pings and settings do not count: only streams keep a session.
     */
    function watchSessionIdle(session) {
        let open = 0;
        let timer;
        const arm = (ms) => {
            timer = setTimeout(() => {
                if (open === 0 && !session.closed && !session.destroyed) {
                    session.close();
                    // A client that ignores GOAWAY but keeps the socket: gone after a grace period.
                    setTimeout(() => session.destroy(), 1_000).unref();
                }
            }, ms);
            timer.unref();
        };
        arm(headerTimeoutMs);
        session.on("stream", (stream) => {
            open += 1;
            clearTimeout(timer);
            stream.once("close", () => {
                open -= 1;
                if (open === 0 && !session.closed)
                    arm(limits.sessionIdleTimeoutMs);
            });
        });
        session.once("close", () => clearTimeout(timer));
    }
    /**
     * HTTP/2 body timeouts of one stream: the stream's idle timer (reset by every frame read or
     * written on it) and a deadline for the whole body, both checked against "body complete"
     * when they fire, so a stream whose request is in is never cut (its response may last).
     */
    function watchH2Body(req, res) {
        if (hasNoBody(req))
            return;
        const stream = req.stream;
        const fire = (reason) => {
            if (requestBodyReceived(req))
                return off();
            off();
            onLimit({ kind: "body-timeout", req, reason });
            bodyTimedOut(req, res);
        };
        const deadline = setTimeout(() => fire("total"), limits.requestTimeoutMs);
        deadline.unref();
        const onIdle = () => fire("idle");
        const off = () => {
            if (bodyWatches.get(req) === off)
                bodyWatches.delete(req);
            clearTimeout(deadline);
            stream.off("timeout", onIdle);
            if (!stream.destroyed)
                stream.setTimeout(0);
        };
        bodyWatches.set(req, off);
        stream.setTimeout(limits.bodyIdleTimeoutMs);
        stream.on("timeout", onIdle);
        stream.once("close", off);
    }
    const server = net.createServer({ noDelay: true }, (sock) => {
        sockets.add(sock);
        sock.once("close", () => {
            sockets.delete(sock);
            pending.delete(sock);
            onSocketGone();
        });
        // Trap: without an error listener an ECONNRESET before dispatch crashes the process.
        // Errors end in "close" anyway; the inner servers add their own handlers later.
        sock.on("error", () => { });
        if (closing) {
            sock.destroy(); // raced with close(): the listening socket was still open
            return;
        }
        if (sockets.size > limits.maxConnections) {
            // Closed before reading a byte: the cheapest answer, and any client retries elsewhere.
            sock.destroy();
            onLimit({ kind: "connections", limit: limits.maxConnections });
            return;
        }
        pending.add(sock);
        // Slowloris: a client that sends nothing (or only part of the preface) is dropped.
        const onTimeout = () => sock.destroy();
        sock.setTimeout(headerTimeoutMs);
        sock.on("timeout", onTimeout);
        let buffered = Buffer.alloc(0);
        const onData = (chunk) => {
            buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
            const n = Math.min(buffered.length, H2_PREFACE.length);
            const isH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
            if (isH2 && n < H2_PREFACE.length)
                return; // a prefix of the preface: wait for more
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
            }
            else {
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
                    resolve(server.address());
                });
            });
        },
        address() {
            const addr = server.address();
            return addr !== null && typeof addr === "object" ? addr : null;
        },
        close(forceAfterMs = 10_000) {
            if (closed)
                return closed;
            closing = true;
            closed = new Promise((resolve) => {
                const force = setTimeout(() => {
                    for (const s of sessions)
                        s.destroy();
                    for (const s of sockets)
                        s.destroy();
                }, forceAfterMs);
                // Done when the listening socket is closed and every client socket emitted "close"
                // (net.Server's own "close" can fire a tick before the last socket's "close").
                let serverClosed = false;
                onSocketGone = () => {
                    if (!serverClosed || sockets.size > 0)
                        return;
                    onSocketGone = () => { };
                    clearTimeout(force);
                    h1.close(); // clears the connection-checking interval
                    h2.close();
                    resolve();
                };
                server.close(() => {
                    serverClosed = true;
                    onSocketGone();
                });
                for (const s of pending)
                    s.destroy();
                for (const res of h1Responses)
                    if (!res.headersSent)
                        res.shouldKeepAlive = false;
                h1.closeIdleConnections();
                for (const s of sessions)
                    s.close(); // GOAWAY; in-flight streams may finish
            });
            return closed;
        },
        connectionCount: () => sockets.size,
    };
}
/**
 * Answers a request whose body stopped arriving: 408 when nothing was answered yet, then the
 * HTTP/1.1 connection or the HTTP/2 stream is closed (whoever was reading the body sees it end).
 */
function bodyTimedOut(req, res) {
    const text = "request body timed out\n";
    if ("stream" in req) {
        const stream = req.stream;
        if (stream.destroyed || stream.closed)
            return;
        if (!stream.headersSent) {
            stream.respond({
                ":status": 408,
                "content-type": "text/plain; charset=utf-8",
                "content-length": Buffer.byteLength(text),
            }, { endStream: false });
            stream.end(text);
            // Graceful: RST_STREAM NO_ERROR once the answer is out; the body is not read.
            stream.close(http2.constants.NGHTTP2_NO_ERROR);
        }
        else {
            stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        return;
    }
    const r = res;
    if (r.headersSent || r.writableEnded) {
        req.socket.destroy();
        return;
    }
    r.shouldKeepAlive = false;
    r.writeHead(408, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(text),
        connection: "close",
    });
    r.end(text);
    // Whatever is still arriving is not read: close once the answer is written.
    r.once("finish", () => req.socket.destroySoon());
}
//# sourceMappingURL=one-port-listener.js.map
import { Code, ConnectError } from "@connectrpc/connect";
import { FeedService, SubscribeRequestSchema } from "../../../gen/chat/v1/feed_pb.js";
import { allowBody } from "../../platform/http/one-port-listener.js";
import { heartbeatFrame } from "../../realtime/frames.js";
import { authenticate } from "../interceptors/auth.js";
import { logRpc } from "../interceptors/logging.js";
import { validateMessage } from "../interceptors/validation.js";
import { abandon, StreamWriter } from "./stream-writer.js";
import { decodeRequest, detectWire, errorResponse, responseHeaders, } from "./wire-format.js";
const procedure = `${FeedService.typeName}/${FeedService.method.subscribe.name}`;
const path = `/${procedure}`;
/** Streams written per event-loop turn before yielding to other work. */
const flushBudget = 1_000;
/** Serves Subscribe requests of the common shape; see the file comment. */
export class DirectSubscribe {
    deps;
    writers = new Set();
    pending = new Set();
    flushScheduled = false;
    sweep;
    constructor(deps) {
        this.deps = deps;
        // Streams may ask for their own interval (down to 1 s): sweep often
        // enough for the shortest, at most every 250 ms.
        const every = Math.max(10, Math.min(250, Math.floor(deps.streams.heartbeatMs / 4)));
        this.sweep = setInterval(() => this.heartbeats(), every);
        this.sweep.unref();
    }
    /** Takes the request if it is a Subscribe it serves; false: not for us. */
    handle(req, res) {
        if (req.method !== "POST")
            return false;
        const url = req.url ?? "";
        if (url !== path && !url.startsWith(`${path}?`))
            return false;
        const wire = detectWire(req.headers, req.httpVersionMajor);
        if (!wire)
            return false;
        this.serve(req, res, wire).catch((err) => {
            this.deps.logger.error({ err }, "direct Subscribe failed to answer");
            if (!res.headersSent)
                abandon(res);
        });
        return true;
    }
    /** Stops the heartbeat sweep (streams end through their sessions). */
    close() {
        clearInterval(this.sweep);
    }
    /** Open direct streams (for tests and metrics). */
    get size() {
        return this.writers.size;
    }
    async serve(req, res, wire) {
        const started = performance.now();
        let userId;
        let writer;
        let release;
        let gone = false;
        const done = (err) => logRpc(this.deps.logger, {
            procedure,
            protocol: wire.protocol,
            kind: "server_streaming",
            started,
            userId,
            err,
            path: "direct",
        });
        // Write errors after the client went away are not ours to report: the
        // "close" below ends the stream. Without a listener they would throw.
        res.on("error", ignore);
        res.once("close", () => {
            gone = true;
            release?.();
            if (writer) {
                this.writers.delete(writer);
                this.pending.delete(writer);
                if (!writer.ended)
                    done(new ConnectError("client went away", Code.Canceled));
            }
        });
        try {
            this.deps.checkAvailable();
            // The token first: a stranger's body is never read (nor buffered).
            const caller = await authenticate(this.deps.tokens, header(req, "authorization"));
            userId = caller.userId;
            allowBody(req, res);
            const body = await readBody(req, this.deps.readMaxBytes);
            const msg = decodeRequest(body, wire.codec);
            validateMessage(SubscribeRequestSchema, msg);
            const opened = await this.deps.streams.open(caller);
            release = opened.release;
            if (gone)
                return opened.release();
            await this.deps.streams.start(opened.session, caller.userId, msg);
            if (gone)
                return;
            res.writeHead(200, responseHeaders(wire));
            // Headers go out now (`ready` follows at once); on HTTP/1.1 this also
            // fixes the body framing the writer relies on.
            if (!("stream" in res))
                res.flushHeaders();
            writer = new StreamWriter(opened.session, res, wire, (err) => this.deps.mask(err, procedure), (err) => {
                if (writer)
                    this.writers.delete(writer);
                opened.release();
                done(err);
            });
            this.writers.add(writer);
            const w = writer;
            opened.session.drainTo(() => this.schedule(w));
            w.flush();
        }
        catch (err) {
            release?.();
            if (gone || req.aborted) {
                // The client left while the call was set up (its body read failed).
                done(new ConnectError("client went away", Code.Canceled));
                return;
            }
            const e = this.deps.mask(err, procedure);
            done(e);
            if (gone || res.headersSent)
                return;
            const out = errorResponse(wire, e);
            if (!out.body && "stream" in res) {
                // gRPC trailers-only: one HEADERS frame that ends the stream. The
                // compatibility API would add an empty DATA frame, which grpc-js
                // reads as a missing status.
                res.stream.respond({ ":status": 200, ...out.headers }, { endStream: true });
                return;
            }
            // A body still arriving (refused before it was read) is not drained:
            // the HTTP/1.1 connection closes after the answer.
            if (!("stream" in res) && !req.complete)
                res.shouldKeepAlive = false;
            res.writeHead(200, out.headers);
            if (out.body)
                res.end(out.body);
            else
                res.end();
        }
    }
    /** Flushes `w` at the end of this event-loop turn, with every other stream. */
    schedule(w) {
        this.pending.add(w);
        if (this.flushScheduled)
            return;
        this.flushScheduled = true;
        setImmediate(() => this.flushPending());
    }
    /**
     * Writes up to {@link flushBudget} streams, then lets the event loop run
     * (incoming sends, acks) before the rest: a burst to 10,000 subscribers
     * never blocks the process for its whole length.
     */
    flushPending() {
        this.flushScheduled = false;
        let budget = flushBudget;
        for (const s of this.pending) {
            this.pending.delete(s);
            s.flush();
            if (--budget === 0)
                break;
        }
        if (this.pending.size > 0 && !this.flushScheduled) {
            this.flushScheduled = true;
            setImmediate(() => this.flushPending());
        }
    }
    /** Queues one shared heartbeat for every stream idle for a full interval. */
    heartbeats() {
        const now = performance.now();
        let shared;
        const heartbeat = () => {
            shared ??= heartbeatFrame();
            return shared;
        };
        for (const w of this.writers)
            w.heartbeatIfIdle(now, heartbeat);
    }
}
function ignore() { }
function header(req, name) {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
}
/** Reads the request body, refusing more than `max` bytes. */
async function readBody(req, max) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.byteLength;
        if (size > max) {
            throw new ConnectError(`request is larger than the limit of ${max} bytes`, Code.ResourceExhausted);
        }
        chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}
//# sourceMappingURL=direct-subscribe.js.map
import { constants } from "node:http2";
import { Frame } from "../../realtime/frames.js";
import { streamEnd } from "./wire-format.js";
/** How long a stream that ended with an error may take to send its end. */
const endGraceMs = 10_000;
/** Abandons a response whose client stopped reading. */
export function abandon(res) {
    if ("stream" in res)
        res.stream.close(constants.NGHTTP2_CANCEL);
    else
        res.destroy();
}
/**
 * Both response kinds write and end alike; their typings differ only in
 * overloads, so one view is used for the calls.
 */
function out(res) {
    return res;
}
/**
 * HTTP/1.1 with a chunked body (headers already sent): the socket itself,
 * written with frames already framed as chunks (Frame.chunked), one write
 * of shared bytes per delivery. Through ServerResponse.write every delivery
 * would pay for the chunk framing, a cork and an uncork tick, and a writev
 * of four buffers. The response's own end() still writes the last chunk and
 * the terminator.
 */
function chunkedSocket(r) {
    if ("stream" in r)
        return undefined;
    const res = r;
    return res.headersSent && res.chunkedEncoding === true && res.socket ? res.socket : undefined;
}
/** The direct writer of one stream. */
export class StreamWriter {
    session;
    res;
    wire;
    mask;
    onEnd;
    /** `performance.now()` of the last write; heartbeats go to idle streams. */
    lastWrite = performance.now();
    /** Set once the end of stream was written (or the stream was released). */
    ended = false;
    /** The socket is backed up: wait for `drain` before writing more. */
    blocked = false;
    constructor(session, res, wire, 
    /** Turns a failure into what the client may see (internals masked). */
    mask, 
    /** Called once when the stream ends, with its error. */
    onEnd) {
        this.session = session;
        this.res = res;
        this.wire = wire;
        this.mask = mask;
        this.onEnd = onEnd;
        this.socket = chunkedSocket(res);
    }
    /** Set on HTTP/1.1 with a chunked body (see {@link chunkedSocket}). */
    socket;
    /** Writes what the session has queued, or its end once it failed. */
    flush() {
        if (this.ended)
            return;
        const failed = this.session.failed;
        if (failed) {
            this.end(this.mask(failed.error));
            return;
        }
        if (this.session.ended) {
            // Released (client gone or server closing): nothing more to send.
            this.ended = true;
            return;
        }
        if (this.blocked)
            return;
        const items = this.session.takeAll();
        if (items.length === 0)
            return;
        const socket = this.socket;
        const chunks = [];
        for (const item of items) {
            // Subscribe sessions only ever queue frames; Chat responses never reach here.
            if (!(item instanceof Frame))
                continue;
            chunks.push(socket ? item.chunked(this.wire.codec) : item.enveloped(this.wire.codec));
        }
        const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        this.lastWrite = performance.now();
        const target = socket ?? this.res;
        if (!(socket ? socket.write(data) : out(this.res).write(data))) {
            this.blocked = true;
            target.once("drain", () => {
                this.blocked = false;
                this.flush();
            });
        }
    }
    /** Queues `heartbeat` if nothing was written for the stream's heartbeat interval. */
    heartbeatIfIdle(now, heartbeat) {
        if (!this.ended && !this.blocked && this.lastWrite <= now - this.session.heartbeatMs) {
            this.session.push(heartbeat());
        }
    }
    end(err) {
        this.ended = true;
        const end = streamEnd(this.wire, err);
        if (end.trailers)
            this.res.addTrailers(end.trailers);
        if (this.blocked) {
            // The client stopped reading: give the end a moment, then let go of
            // the connection rather than hold its buffers forever.
            const timer = setTimeout(() => abandon(this.res), endGraceMs);
            timer.unref();
            this.res.once("close", () => clearTimeout(timer));
        }
        if (end.body)
            out(this.res).end(end.body);
        else
            out(this.res).end();
        this.onEnd(err);
    }
}
//# sourceMappingURL=stream-writer.js.map
/** Reading a whole request body on the direct paths, bounded like connect-node's readMaxBytes. */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Reads the request body, refusing more than `max` bytes (ResourceExhausted).
 * Events rather than `for await`: the async iterator of a stream costs more
 * than the rest of reading a small body (seen in a send benchmark's profile).
 */
export function readBody(
  req: IncomingMessage | Http2ServerRequest,
  max: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        cleanup();
        // Stop reading: the answer goes out, the rest of the body is not wanted.
        req.pause();
        reject(
          new ConnectError(
            `request is larger than the limit of ${max} bytes`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (chunks.length === 1) resolve(chunks[0] as Buffer);
      else resolve(chunks.length === 0 ? new Uint8Array(0) : Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // Closed before its end: the client went away, or the listener cut a body that stalled.
    const onClose = () => {
      cleanup();
      reject(new ConnectError("request body ended early", Code.Canceled));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

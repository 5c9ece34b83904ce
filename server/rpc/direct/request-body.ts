/** Reading a whole request body on the direct paths, bounded like connect-node's readMaxBytes. */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

/** Reads the request body, refusing more than `max` bytes (ResourceExhausted). */
export async function readBody(
  req: IncomingMessage | Http2ServerRequest,
  max: number,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > max) {
      throw new ConnectError(
        `request is larger than the limit of ${max} bytes`,
        Code.ResourceExhausted,
      );
    }
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0] as Buffer;
  return chunks.length === 0 ? new Uint8Array(0) : Buffer.concat(chunks);
}

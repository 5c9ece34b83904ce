/**
 * The type of a file, from its bytes only (never from the name or the type
 * a client declared), and how it may be served: types a browser would run
 * or render with the page's authority (HTML, SVG, XML, PDF, anything
 * unknown) are only ever downloads.
 */
import { open } from "node:fs/promises";
import { fileTypeFromFile } from "file-type";

/** Types served inline (shown by the browser); every other type is a download. */
const inlineTypes: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/webm",
  "audio/mpeg",
  "audio/ogg",
  "audio/wav",
  "audio/x-wav",
  "audio/mp4",
  "text/plain; charset=utf-8",
]);

/** Images the server measures and makes thumbnails of. */
export const imageTypes: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
]);

/** Whether a stored type may be shown inline rather than downloaded. */
export function servedInline(contentType: string): boolean {
  return inlineTypes.has(contentType);
}

/** Bytes read to decide whether an unknown file is plain text. */
const textSample = 4096;

/**
 * The media type of the file at `path`: file-type's magic numbers first;
 * without a match, UTF-8 text without control characters is
 * `text/plain; charset=utf-8` and anything else `application/octet-stream`.
 * Markup (HTML, SVG) is text to file-type and ends up as plain text or
 * octet-stream, never as a type a browser would render.
 */
export async function detectContentType(path: string): Promise<string> {
  const found = await fileTypeFromFile(path);
  if (found) return found.mime;
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(textSample);
    const { bytesRead } = await fh.read(buf, 0, textSample, 0);
    return looksLikeText(buf.subarray(0, bytesRead))
      ? "text/plain; charset=utf-8"
      : "application/octet-stream";
  } finally {
    await fh.close();
  }
}

/** UTF-8 (a sequence cut at the end of the sample allowed) without NUL or other C0 controls but tab/CR/LF/FF. */
export function looksLikeText(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return false;
  }
  // Drop a multi-byte sequence the sample may have cut in two.
  let end = bytes.length;
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0xc0) {
      end = i;
      break;
    }
    if ((b & 0x80) === 0) break;
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * `GET|HEAD /files/<id>` and `/files/<id>/thumbnail`: a stored file for
 * whoever may read it (domain/files/uploads.ts; everyone else gets 404, as
 * for every private thing), with the bearer token. Single byte ranges
 * (resumed downloads, media seeking), a strong ETag (a file never changes),
 * private caching only, `nosniff` and a sandboxing CSP; only types a
 * browser merely shows (images, audio, video, plain text) are inline, every
 * other type (HTML, SVG, PDF, unknown) is an attachment.
 */
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { TokenService } from "../../domain/auth/tokens.js";
import type { Uploads } from "../../domain/files/uploads.js";
import { uploadNotFound } from "../../domain/files/uploads.js";
import { servedInline } from "../../platform/media/content-type.js";
import type { ByteRange, FileStorage } from "../../platform/storage/file-storage.js";
import { authenticate } from "../interceptors/auth.js";
import { answerError, asConnectError, type Req, type Res } from "./http-answers.js";

/** What the download route needs. */
export interface DownloadRouteDeps {
  tokens: TokenService;
  uploads: Uploads;
  storage: FileStorage;
  logger: Logger;
}

/** Handles one download; `thumbnail` for an image's thumbnail. */
export async function handleDownload(
  deps: DownloadRouteDeps,
  req: Req,
  res: Res,
  id: bigint,
  thumbnail: boolean,
) {
  let key: string;
  let type: string;
  let name: string;
  let size: number;
  try {
    const caller = await authenticate(deps.tokens, req.headers.authorization);
    const row = await deps.uploads.readable(caller.userId, id);
    if (thumbnail) {
      if (!row.thumbKey) throw uploadNotFound();
      key = row.thumbKey;
      type = "image/webp";
      name = `${row.name}.thumbnail.webp`;
      size = await deps.storage.size(key);
    } else {
      key = row.storageKey;
      type = row.contentType ?? "application/octet-stream";
      name = row.name;
      size = Number(row.sizeBytes);
    }
  } catch (err) {
    answerError(req, res, asConnectError(err));
    return;
  }

  const etag = `"${id}${thumbnail ? "t" : ""}-${size}"`;
  const headers: Record<string, string | number> = {
    "content-type": type,
    "accept-ranges": "bytes",
    etag,
    // Authorized content: browsers may keep it, shared caches never.
    "cache-control": "private, max-age=31536000, immutable",
    "content-disposition": disposition(servedInline(type) ? "inline" : "attachment", name),
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cross-origin-resource-policy": "same-origin",
    "referrer-policy": "no-referrer",
    vary: "authorization",
  };
  if (matchesEtag(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers["if-range"];
  const range = parseRange(
    req.headers.range,
    size,
    typeof ifRange === "string" ? ifRange : undefined,
    etag,
  );
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...headers, "content-range": `bytes */${size}` });
    res.end();
    return;
  }
  const status = range ? 206 : 200;
  if (range) headers["content-range"] = `bytes ${range.start}-${range.end}/${size}`;
  headers["content-length"] = range ? range.end - range.start + 1 : size;
  if (req.method === "HEAD" || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  try {
    const body = await deps.storage.read(key, range ?? undefined);
    res.writeHead(status, headers);
    await pipeline(body, res as NodeJS.WritableStream);
  } catch (err) {
    if (!res.headersSent) {
      deps.logger.error({ err, uploadId: String(id) }, "file read failed");
      answerError(req, res, asConnectError(err));
    } else {
      // Cut mid-body: the client sees a short response, never a wrong one.
      req.socket?.destroy();
    }
  }
}

/** `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266). */
export function disposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header === "*" || header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * One byte range of `Range: bytes=…` within `size`; null to send the whole
 * file (no header, several ranges, another unit, or an If-Range that does
 * not match); "unsatisfiable" for a range that starts past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
  ifRange?: string,
  etag?: string,
): ByteRange | null | "unsatisfiable" {
  if (!header || (ifRange !== undefined && ifRange !== etag)) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return null;
  return { start, end };
}

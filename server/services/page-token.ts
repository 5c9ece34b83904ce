/**
 * Opaque page tokens. A token wraps the sort key of the last item of a page
 * (keyset pagination: stable under inserts, no OFFSET scans). Clients must
 * treat it as opaque; a tampered token gives InvalidArgument.
 */
import { invalidArgument } from "../errors.js";

const version = "1";

/** Encodes the cursor of the next page. */
export function encodePageToken(cursor: string): string {
  return Buffer.from(`${version}:${cursor}`, "utf8").toString("base64url");
}

/** Decodes a page token; empty means the first page (undefined). */
export function decodePageToken(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(token)
    ? Buffer.from(token, "base64url").toString("utf8")
    : "";
  if (!text.startsWith(`${version}:`)) {
    throw invalidArgument([{ field, description: "is not a page token returned by this API" }]);
  }
  return text.slice(version.length + 1);
}

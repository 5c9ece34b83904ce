/**
 * Opaque page tokens. A token wraps the sort key of the last item of a page
 * (keyset pagination: stable under inserts, no OFFSET scans). Clients must
 * treat it as opaque; a tampered token gives InvalidArgument.
 */
import type { ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "../platform/errors.js";

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

function badToken(): ConnectError {
  return invalidArgument([
    { field: "page_token", description: "is not a page token returned by this API" },
  ]);
}

/** Page cursor over (name, id): ListPublicRooms. */
export function encodeNameCursor(name: string, id: bigint): string {
  return encodePageToken(JSON.stringify(["n", name, id.toString()]));
}

/** Decodes {@link encodeNameCursor}; empty token: first page. */
export function decodeNameCursor(token: string): { name: string; id: bigint } | undefined {
  const text = decodePageToken(token);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      v[0] === "n" &&
      typeof v[1] === "string" &&
      typeof v[2] === "string" &&
      /^\d{1,20}$/.test(v[2])
    ) {
      return { name: v[1], id: BigInt(v[2]) };
    }
  } catch {
    // fall through
  }
  throw badToken();
}

/** Page cursor over (time, id): ListMyRooms and ListMembers. */
export function encodeTimeCursor(time: Date, id: bigint): string {
  return encodePageToken(`t:${time.getTime()}:${id}`);
}

/** Decodes {@link encodeTimeCursor}; empty token: first page. */
export function decodeTimeCursor(token: string): { time: Date; id: bigint } | undefined {
  const text = decodePageToken(token);
  if (text === undefined) return undefined;
  const m = /^t:(\d{1,15}):(\d{1,20})$/.exec(text);
  if (!m?.[1] || !m[2]) throw badToken();
  return { time: new Date(Number(m[1])), id: BigInt(m[2]) };
}

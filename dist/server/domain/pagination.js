import { invalidArgument } from "../platform/errors.js";
const version = "1";
/** Encodes the cursor of the next page. */
export function encodePageToken(cursor) {
    return Buffer.from(`${version}:${cursor}`, "utf8").toString("base64url");
}
/** Decodes a page token; empty means the first page (undefined). */
export function decodePageToken(token, field = "page_token") {
    if (token === "")
        return undefined;
    const text = /^[A-Za-z0-9_-]+$/.test(token)
        ? Buffer.from(token, "base64url").toString("utf8")
        : "";
    if (!text.startsWith(`${version}:`)) {
        throw invalidArgument([{ field, description: "is not a page token returned by this API" }]);
    }
    return text.slice(version.length + 1);
}
function badToken() {
    return invalidArgument([
        { field: "page_token", description: "is not a page token returned by this API" },
    ]);
}
/** Page cursor over (name, id): ListPublicRooms. */
export function encodeNameCursor(name, id) {
    return encodePageToken(JSON.stringify(["n", name, id.toString()]));
}
/** Decodes {@link encodeNameCursor}; empty token: first page. */
export function decodeNameCursor(token) {
    const text = decodePageToken(token);
    if (text === undefined)
        return undefined;
    try {
        const v = JSON.parse(text);
        if (Array.isArray(v) &&
            v.length === 3 &&
            v[0] === "n" &&
            typeof v[1] === "string" &&
            typeof v[2] === "string" &&
            /^\d{1,20}$/.test(v[2])) {
            return { name: v[1], id: BigInt(v[2]) };
        }
    }
    catch {
        // fall through
    }
    throw badToken();
}
/** Page cursor over (time, id): ListMyRooms and ListMembers. */
export function encodeTimeCursor(time, id) {
    return encodePageToken(`t:${time.getTime()}:${id}`);
}
/** Decodes {@link encodeTimeCursor}; empty token: first page. */
export function decodeTimeCursor(token) {
    const text = decodePageToken(token);
    if (text === undefined)
        return undefined;
    const m = /^t:(\d{1,15}):(\d{1,20})$/.exec(text);
    if (!m?.[1] || !m[2])
        throw badToken();
    return { time: new Date(Number(m[1])), id: BigInt(m[2]) };
}
//# sourceMappingURL=pagination.js.map
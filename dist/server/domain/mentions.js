import { membersByUsername } from "../store/sql/counts.js";
/** At most this many distinct names are looked up per message. */
export const maxMentionNames = 100;
// `@` not preceded by a name character (so e-mail addresses don't mention),
// then the characters a username may contain (see RegisterRequest).
const mentionPattern = /(?<![A-Za-z0-9_.@-])@([A-Za-z0-9_.-]+)/g;
const usernameLength = { min: 3, max: 32 };
/**
 * The names written as `@name` in `text`, lower-cased, in order of first
 * appearance. A name ending in `.` or `-` (end of a sentence: "thanks
 * @ann.") yields the name without them as a second candidate.
 */
export function mentionCandidates(text) {
    const out = [];
    const seen = new Set();
    for (const match of text.matchAll(mentionPattern)) {
        const raw = (match[1] ?? "").toLowerCase();
        const stripped = raw.replace(/[.-]+$/, "");
        const names = [raw, stripped].filter((n, i, all) => n.length >= usernameLength.min && n.length <= usernameLength.max && all.indexOf(n) === i);
        if (names.length === 0 || names.every((n) => seen.has(n)))
            continue;
        for (const n of names)
            seen.add(n);
        out.push(names);
        if (seen.size >= maxMentionNames)
            break;
    }
    return out;
}
/**
 * User ids mentioned by `text` among the room's current members, ascending
 * and without duplicates. One query, none when the text mentions nobody.
 */
export async function resolveMentions(db, roomId, text) {
    const candidates = mentionCandidates(text);
    if (candidates.length === 0)
        return [];
    const keys = [...new Set(candidates.flat())];
    const rows = await membersByUsername(db, roomId, keys);
    const byKey = new Map(rows.map((r) => [r.usernameKey.toLowerCase(), r.id]));
    const ids = new Set();
    for (const names of candidates) {
        // The longest spelling that names a member wins ("@ann." is "ann." if
        // that member exists, else "ann").
        const id = names.map((n) => byKey.get(n)).find((x) => x !== undefined);
        if (id !== undefined)
            ids.add(id);
    }
    return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
//# sourceMappingURL=mentions.js.map
/**
 * The snippet of a search hit: a window of the text around its first
 * match, and the ranges of it to highlight, in code points. Plain text and
 * ranges rather than markup, so no client ever has to trust HTML from it.
 */
import { foldText, type SearchQuery, wordChar } from "./search-tokens.js";

/** About this many characters of text around the first match. */
export const snippetChars = 160;
const ellipsis = "…";

/** A snippet and its highlighted ranges (code point offsets into `text`). */
export interface Snippet {
  text: string;
  highlights: { start: number; end: number }[];
}

/**
 * The matches of the query in `chars` (the message's code points): each
 * bigram run wherever it occurs, each word where a word starts with it.
 * Compared per code point on folded characters, so offsets stay those of
 * the original text.
 */
export function matchRanges(
  chars: readonly string[],
  q: SearchQuery,
): { start: number; end: number }[] {
  // Fold each character alone: a fold that changes the count of code points
  // (rare: ligatures, some full-width forms) keeps only its first.
  const folded = chars.map((c) => [...foldText(c)][0] ?? c);
  const found: { start: number; end: number }[] = [];
  const at = (needle: readonly string[], i: number) => needle.every((c, k) => folded[i + k] === c);
  for (const run of q.runs) {
    const needle = [...run];
    for (let i = 0; i + needle.length <= folded.length; i++) {
      if (at(needle, i)) found.push({ start: i, end: i + needle.length });
    }
  }
  for (const word of q.words) {
    const needle = [...word];
    for (let i = 0; i + needle.length <= folded.length; i++) {
      const startsWord = i === 0 || !wordChar.test(folded[i - 1] as string);
      if (startsWord && at(needle, i)) found.push({ start: i, end: i + needle.length });
    }
  }
  found.sort((x, y) => x.start - y.start || y.end - x.end);
  // Merge overlaps so ranges never overlap.
  const merged: { start: number; end: number }[] = [];
  for (const r of found) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** The snippet of `text` for query `q`. */
export function snippetOf(text: string, q: SearchQuery): Snippet {
  const chars = [...text];
  const ranges = matchRanges(chars, q);
  const first = ranges[0]?.start ?? 0;
  // Start a little before the first match, so it reads in context.
  let start = Math.max(0, first - Math.floor(snippetChars / 4));
  let end = Math.min(chars.length, start + snippetChars);
  start = Math.max(0, Math.min(start, end - snippetChars));
  const head = start > 0 ? ellipsis : "";
  const tail = end < chars.length ? ellipsis : "";
  if (end < start) end = start;
  const shift = head.length - start;
  const highlights = ranges
    .filter((r) => r.start >= start && r.end <= end)
    .map((r) => ({ start: r.start + shift, end: r.end + shift }));
  return { text: head + chars.slice(start, end).join("") + tail, highlights };
}

/**
 * The search tokens of a message and the boolean query of a search: how
 * text becomes words an InnoDB FULLTEXT index can hold, on MariaDB and
 * MySQL 8 alike, with no plugin and no server option (docs/search.md).
 *
 * InnoDB's tokenizer splits on anything but letters, digits and `_`, and
 * ignores tokens shorter than `innodb_ft_min_token_size` (3) or longer than
 * `innodb_ft_max_token_size` (84) and its stopwords ("the", "a", "in", ...).
 * So the application writes the tokens itself, in a column of their own
 * (`messages.search_tokens`, ASCII, binary collation), each one 3-84
 * characters of `[a-z0-9_]` that no stopword can equal:
 * - a word of a spaced script (Latin, Cyrillic, Greek, ...), NFKC-folded
 *   and lower-cased, is `w_` and the word, its characters outside `[a-z0-9]`
 *   written `_` plus six hex digits, so a prefix of a word encodes to a
 *   prefix of its token (prefix queries: `+w_deplo*`);
 * - Chinese, Japanese and Korean text has no spaces: each pair of
 *   neighbouring characters (a bigram) is `c_` plus both code points in six
 *   hex digits each. A query substring of n >= 2 such characters needs all
 *   its n-1 bigrams; the hits are then checked on the text itself
 *   ({@link matchesQuery}), since bigrams say nothing of their order.
 *
 * Every token is scoped to its message's room: `r` + the room id in base 36
 * + `_` comes first (`r2s_w_deploy`, `r2s_c_005929006c14`). A search names
 * the rooms it may read in its expression ({@link booleanExpression}), so
 * InnoDB reads only those rooms' postings: a word found in every room costs
 * a one-room search that room's share of it, not the whole table's.
 */

const bigramClass =
  "[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u30fc]";
/** Characters written as bigrams: Han, kana (with the prolonged sound mark) and Hangul. */
const bigramChar = new RegExp(bigramClass, "u");
/** A character of a word of a spaced script: a letter, digit or mark that is not a bigram character. */
export const wordChar = new RegExp(`(?!${bigramClass})[\\p{L}\\p{N}\\p{M}]`, "u");
/** A run of bigram characters, or a word of any other script. */
const pieces = new RegExp(`${bigramClass}+|(?:${wordChar.source})+`, "gu");

/** InnoDB's `innodb_ft_max_token_size` default: longer tokens are not indexed. */
export const maxTokenChars = 84;

/** Text as the index sees it: compatibility-folded (full-width, ligatures) and lower-cased. */
export function foldText(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

const hex6 = (cp: number) => cp.toString(16).padStart(6, "0");

/** The prefix of the tokens of a room's messages: `r` + its id in base 36 + `_`. */
export function roomPrefix(roomId: bigint): string {
  return `r${roomId.toString(36)}_`;
}

/**
 * `w_` + the word, characters outside [a-z0-9] as `_` + six hex digits.
 * Cut so that with the longest room prefix (a 64-bit id is 13 base-36
 * digits) the token stays within the limit; a query word is cut the same
 * way, so a prefix of a long word still finds it.
 */
function wordToken(word: string): string {
  const max = maxTokenChars - maxRoomPrefixChars;
  let out = "w_";
  for (const ch of word) {
    out += /[a-z0-9]/.test(ch) ? ch : `_${hex6(ch.codePointAt(0) as number)}`;
    if (out.length >= max) return out.slice(0, max);
  }
  return out;
}

/** `r` + 13 base-36 digits + `_`. */
const maxRoomPrefixChars = 15;

function bigramTokens(run: string): string[] {
  const chars = [...run];
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) {
    out.push(
      `c_${hex6((chars[i] as string).codePointAt(0) as number)}${hex6((chars[i + 1] as string).codePointAt(0) as number)}`,
    );
  }
  return out;
}

/** The words and bigram runs of folded text. */
function split(folded: string): { words: string[]; runs: string[] } {
  const words: string[] = [];
  const runs: string[] = [];
  for (const [piece] of folded.matchAll(pieces)) {
    if (bigramChar.test(piece)) runs.push(piece);
    else words.push(piece);
  }
  return { words, runs };
}

/**
 * The search tokens of a message's text in its room, space-separated; ""
 * when it has none (indexed, with nothing to find: the backfill,
 * search-backfill.ts, tells it from a message never tokenized, null).
 */
export function indexTokens(text: string, roomId: bigint): string {
  const { words, runs } = split(foldText(text));
  const prefix = roomPrefix(roomId);
  const all = [...words.map(wordToken), ...runs.flatMap(bigramTokens)].map((t) => prefix + t);
  if (all.length === 0) return "";
  // Repeats count for relevance (InnoDB ranks by term frequency), up to a few.
  const seen = new Map<string, number>();
  const kept: string[] = [];
  for (const t of all) {
    const times = (seen.get(t) ?? 0) + 1;
    seen.set(t, times);
    if (times <= maxRepeats) kept.push(t);
  }
  return kept.join(" ");
}

/** Occurrences of one token kept per message: enough to rank, bounded in size. */
const maxRepeats = 4;

/** One required term of a query, without its room prefix. */
export interface QueryTerm {
  token: string;
  /**
   * A word: found as a prefix of a token (`*`), and ranked higher where
   * it is the whole token (`>`); otherwise (a bigram) only as itself.
   */
  word: boolean;
}

/** A parsed search query. */
export interface SearchQuery {
  /** What the index is asked: every word (as a prefix) and bigram, each required. */
  terms: QueryTerm[];
  /** Folded words, each matched as a whole word or a word prefix. */
  words: string[];
  /** Folded runs of Chinese/Japanese/Korean characters, each matched as a substring. */
  runs: string[];
}

/**
 * Parses a query; undefined when it has nothing the index can look up (no
 * word and no two bigram characters in a row).
 */
export function parseQuery(query: string): SearchQuery | undefined {
  const { words, runs } = split(foldText(query));
  const terms = new Map<string, QueryTerm>();
  // A prefix of a long word still finds it: its token is cut the same way.
  for (const w of words) terms.set(wordToken(w), { token: wordToken(w), word: true });
  for (const r of runs) {
    for (const t of bigramTokens(r)) terms.set(t, { token: t, word: false });
  }
  if (terms.size === 0) return undefined;
  return { terms: [...terms.values()], words: [...new Set(words)], runs: [...new Set(runs)] };
}

/**
 * The InnoDB boolean-mode expression of a query over some rooms: one
 * required group per term with the term once per room, so
 * `+(r1_c_x r2_c_x)` requires bigram x in a message of room 1 or 2. A word
 * is `r1_w_deplo* >r1_w_deplo`: any word it starts, the whole word ranked
 * higher. Nothing but required groups: MariaDB 10.11 returned rows missing
 * a required group when optional terms stood beside the groups
 * (`+(a*) +(b*) a b` found a row with only b), so the whole-word boost is
 * inside the group. Only `[a-z0-9_*+>() ]`: nothing of the caller's text
 * reaches the syntax. `roomIds` must not be empty.
 */
export function booleanExpression(q: SearchQuery, roomIds: readonly bigint[]): string {
  const prefixes = roomIds.map(roomPrefix);
  return q.terms
    .map((t) => {
      const alts = prefixes.map((p) =>
        t.word ? `${p}${t.token}* >${p}${t.token}` : `${p}${t.token}`,
      );
      return `+(${alts.join(" ")})`;
    })
    .join(" ");
}

/**
 * Whether a message's text really matches: the index only knows that every
 * bigram is somewhere in it, so each run must be a substring. Words were
 * matched exactly by their tokens.
 */
export function matchesQuery(text: string, q: SearchQuery): boolean {
  if (q.runs.length === 0) return true;
  const folded = foldText(text);
  return q.runs.every((r) => folded.includes(r));
}

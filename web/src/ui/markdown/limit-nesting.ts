/**
 * Bounds the block nesting a message can ask of the Markdown parser before
 * it parses. SafeMarkdown flattens anything deeper than MAX_DEPTH to text
 * after parsing, but parsing itself is what costs: micromark takes seconds
 * on a line of two thousand list markers (`- - - …`, measured 5 s in Node
 * for 4000 characters) and the page freezes for that long. A line's leading
 * container markers (block quotes, list items) beyond the limit are made
 * literal with a backslash, so the parser sees a paragraph there; what the
 * reader sees is the same text SafeMarkdown's flattening would show.
 */

/** One leading container marker: `>`, a bullet or an ordered list number. */
const marker = /^[ \t]{0,3}(?:>[ \t]?|[-*+](?:[ \t]+|$)|\d{1,9}[.)](?:[ \t]+|$))/;

/** The text with every line's leading container markers beyond `maxDepth` escaped. */
export function limitNesting(text: string, maxDepth: number): string {
  // Fast path: most messages have no line that could be deep.
  if (!/(?:[>*+-][ \t]*){2}/.test(text) && !/\d[.)][ \t]+\d/.test(text)) return text;
  return text
    .split("\n")
    .map((line) => {
      let rest = line;
      for (let depth = 0; depth < maxDepth; depth++) {
        const m = marker.exec(rest);
        if (!m) return line;
        rest = rest.slice(m[0].length);
      }
      const more = marker.exec(rest);
      if (!more) return line;
      const head = line.slice(0, line.length - rest.length);
      const lead = /^[ \t]*/.exec(rest)?.[0] ?? "";
      const body = rest.slice(lead.length);
      // A bullet or `>` is escaped before it; a number before its `.` or `)`.
      const num = /^\d{1,9}/.exec(body)?.[0];
      const escaped = num === undefined ? `\\${body}` : `${num}\\${body.slice(num.length)}`;
      return head + lead + escaped;
    })
    .join("\n");
}

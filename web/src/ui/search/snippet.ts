/** Splits a snippet into plain and highlighted parts (ranges in code points). */
export interface SnippetPart {
  text: string;
  hit: boolean;
}

export function snippetParts(
  snippet: string,
  ranges: readonly { start: number; end: number }[],
): SnippetPart[] {
  const chars = Array.from(snippet);
  const marks = new Array<boolean>(chars.length).fill(false);
  for (const r of ranges) {
    const end = Math.min(r.end, chars.length);
    for (let i = Math.max(0, r.start); i < end; i++) marks[i] = true;
  }
  const parts: SnippetPart[] = [];
  for (let i = 0; i < chars.length; i++) {
    const hit = marks[i] ?? false;
    const last = parts[parts.length - 1];
    if (last && last.hit === hit) last.text += chars[i];
    else parts.push({ text: chars[i] ?? "", hit });
  }
  return parts;
}

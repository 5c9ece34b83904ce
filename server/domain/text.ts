/** Text helpers shared by queries. */

/** Escapes LIKE wildcards with MySQL's default escape character. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

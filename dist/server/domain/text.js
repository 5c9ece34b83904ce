/** Text helpers shared by queries. */
/** Escapes LIKE wildcards with MySQL's default escape character. */
export function escapeLike(s) {
    return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
//# sourceMappingURL=text.js.map
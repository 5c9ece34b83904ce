/**
 * Which avatar URLs a profile may carry. Every viewer's browser fetches a
 * user's avatar, so an arbitrary URL would let any user make every viewer
 * request a host of their choosing: tracking pixels, or requests to
 * addresses inside the viewer's network. Only `https` URLs on hosts the
 * operator listed (AVATAR_HOSTS, e.g. an image CDN the organisation runs)
 * are accepted; with no host listed, the default, no avatar URL is, and
 * clients draw initials. The same list goes into the web page's
 * Content-Security-Policy (img-src), so browsers refuse any other host even
 * for URLs stored before the list changed.
 */

/**
 * Whether `host` (a URL's hostname) is one of `allowed`: an exact name, or
 * `*.example.com` for any subdomain of example.com (as in a CSP host source).
 */
export function avatarHostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => {
    const entry = a.toLowerCase();
    return entry.startsWith("*.") ? h.endsWith(entry.slice(1)) : h === entry;
  });
}

/** What is wrong with `url` as an avatar, or undefined when it is acceptable. */
export function avatarUrlProblem(url: string, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return "avatar URLs are not accepted on this server";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "must be an absolute https:// URL";
  }
  if (u.protocol !== "https:") return "must be an https:// URL";
  if (u.username !== "" || u.password !== "") return "must not contain a user name or password";
  if (u.port !== "") return "must use the default https port";
  if (!avatarHostAllowed(u.hostname, allowed)) {
    return `must be on an allowed image host (${allowed.join(", ")})`;
  }
  return undefined;
}

/**
 * Parses AVATAR_HOSTS: comma-separated host names, each exact or `*.` plus a
 * domain. Returns the hosts, or the entries that are not host names.
 */
export function parseAvatarHosts(raw: string): { hosts: string[]; invalid: string[] } {
  const hosts: string[] = [];
  const invalid: string[] = [];
  const name = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  for (const part of raw.split(",")) {
    const h = part.trim().toLowerCase();
    if (h === "") continue;
    if (name.test(h) && !(h.startsWith("*.") && !h.slice(2).includes("."))) hosts.push(h);
    else invalid.push(part.trim());
  }
  return { hosts, invalid };
}

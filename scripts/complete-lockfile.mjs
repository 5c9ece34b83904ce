// Adds lockfile entries for platform-specific optional dependencies that the
// registry mirror of our machines does not serve (e.g. darwin/win32 builds of
// biome, buf, esbuild). `npm install` leaves them out of package-lock.json,
// and `npm ci` then refuses the lockfile as "out of sync". An entry with just
// the version and `optional: true` satisfies `npm ci`; on a platform that
// does not match, npm skips the package, and elsewhere it is fetched by
// version. Run after every `npm install` that changes the lockfile.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = key === "" ? "" : `${key}/`;
    const nested = `${base}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    const version = /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(range) ? range : range.replace(/^[\^~=]/, "");
    packages[hoisted] = { version, optional: true, ...(entry.dev ? { dev: true } : {}) };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} entries`);

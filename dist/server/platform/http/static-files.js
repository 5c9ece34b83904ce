/**
 * Serves the built web client (web/dist) from the same origin and port as
 * the API, so browsers need no CORS. Unknown paths without a file extension
 * get index.html, letting the client-side router handle them.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
const contentTypes = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
};
/**
 * Returns true when it answered the request from `root`. Every answer
 * carries `headers` (the security headers of server/platform/http/security-headers.ts).
 */
export async function serveStatic(root, req, res, headers = {}) {
    if (req.method !== "GET" && req.method !== "HEAD")
        return false;
    const base = resolve(root);
    let path;
    try {
        path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    }
    catch {
        // A malformed %-escape is the client's mistake, not a server error.
        const text = "bad request: malformed %-escape in the path\n";
        res.writeHead(400, {
            ...headers,
            "content-type": "text/plain; charset=utf-8",
            "content-length": Buffer.byteLength(text),
        });
        res.end(req.method === "HEAD" ? undefined : text);
        return true;
    }
    let file = normalize(join(base, path));
    // Never leave the web root, whatever `..` the path holds.
    if (file !== base && !file.startsWith(base + sep))
        return false;
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
        file = join(file, "index.html");
        info = await stat(file).catch(() => undefined);
    }
    if (!info && extname(path) === "") {
        file = join(base, "index.html");
        info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile())
        return false;
    const ext = extname(file);
    res.writeHead(200, {
        ...headers,
        "content-type": contentTypes[ext] ?? "application/octet-stream",
        "content-length": info.size,
        // Vite puts a content hash in asset names: cache those forever.
        "cache-control": path.startsWith("/assets/")
            ? "public, max-age=31536000, immutable"
            : "no-cache",
        "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD")
        res.end();
    else
        createReadStream(file).pipe(res);
    return true;
}
//# sourceMappingURL=static-files.js.map
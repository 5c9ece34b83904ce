/**
 * Headers that make the browser itself enforce what the web client may do
 * (server/platform/http/static-files.ts and the not-found page send them):
 * - Content-Security-Policy: scripts, styles, fonts and API calls only from
 *   this origin, no inline script, no plugins, no <base> tricks, forms only
 *   to this origin, and no framing by any site (clickjacking). Images: this
 *   origin, data: URLs (the favicon) and the avatar hosts the operator
 *   allowed (AVATAR_HOSTS), so a user naming any other host cannot make
 *   viewers' browsers fetch from it, whatever URL is stored;
 * - Referrer-Policy: no URL of the app leaks to other sites;
 * - Permissions-Policy: no camera, microphone, geolocation, ... for the page
 *   or anything it embeds;
 * - X-Content-Type-Options: files are never sniffed into another type.
 * The built Vite app needs nothing more: one module script and one
 * stylesheet from /assets, and React sets inline styles through the CSSOM,
 * which `style-src 'self'` allows.
 */
/** The Content-Security-Policy for the web client, with `imageHosts` allowed for avatars. */
export function contentSecurityPolicy(imageHosts = []) {
    const images = ["'self'", "data:", ...imageHosts.map((h) => `https://${h}`)];
    return [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        `img-src ${images.join(" ")}`,
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'none'",
        "object-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ].join("; ");
}
/** Headers of every page and asset of the web client. */
export function webSecurityHeaders(imageHosts = []) {
    return {
        "content-security-policy": contentSecurityPolicy(imageHosts),
        "referrer-policy": "no-referrer",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    };
}
/** The headers without avatar hosts (error pages). */
export const securityHeaders = webSecurityHeaders();
//# sourceMappingURL=security-headers.js.map
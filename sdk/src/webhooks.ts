/**
 * Receiving protochat webhooks: check a delivery's signature and age, then
 * decode its body (the protobuf JSON of chat.v1.WebhookBatch). Uses Web
 * Crypto only, so it runs in Node.js 20+, Deno, Bun and edge runtimes.
 *
 * ```ts
 * const batch = await verifyWebhook({ secret, headers: req.headers, body: rawBody });
 * for (const event of batch.events) ...
 * ```
 * A batch may arrive more than once (delivery is at least once): the same
 * `batch.id` (the `webhook-id` header) is the same batch.
 */
import { fromJsonString } from "@bufbuild/protobuf";
import { type WebhookBatch, WebhookBatchSchema } from "./gen/chat/v1/webhook_pb.js";

/** A delivery that is not from the server, or too old. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/** Headers as fetch (`Headers`) or Node.js (`IncomingHttpHeaders`) give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** What {@link verifyWebhook} checks. */
export interface VerifyWebhookOptions {
  /** The endpoint's secret, as given to AdminService.CreateWebhook. */
  secret: string;
  headers: WebhookHeaders;
  /** The raw body, exactly as received. */
  body: string;
  /** Oldest timestamp accepted, in seconds before now (default 300). */
  toleranceSeconds?: number;
  /** Now, in milliseconds (tests). */
  now?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function toBase64(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

/** Constant-time comparison of two strings. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The signature the server computes: `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`. */
export async function webhookSignature(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(mac)}`;
}

/**
 * Checks a delivery's `webhook-signature` (over its id, timestamp and body)
 * and that its timestamp is recent; returns the decoded batch. Throws
 * {@link WebhookVerificationError} otherwise.
 */
export async function verifyWebhook(opts: VerifyWebhookOptions): Promise<WebhookBatch> {
  const id = header(opts.headers, "webhook-id");
  const timestamp = header(opts.headers, "webhook-timestamp");
  const signature = header(opts.headers, "webhook-signature");
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError(
      "missing webhook-id, webhook-timestamp or webhook-signature",
    );
  }
  const seconds = Number(timestamp);
  const now = (opts.now ?? Date.now()) / 1000;
  const tolerance = opts.toleranceSeconds ?? 300;
  if (!Number.isInteger(seconds) || Math.abs(now - seconds) > tolerance) {
    throw new WebhookVerificationError("webhook timestamp is not recent");
  }
  const expected = await webhookSignature(opts.secret, id, timestamp, opts.body);
  // Several signatures may be sent (secret rotation), separated by spaces.
  if (!signature.split(" ").some((s) => equal(s, expected))) {
    throw new WebhookVerificationError("webhook signature does not match");
  }
  const batch = fromJsonString(WebhookBatchSchema, opts.body, { ignoreUnknownFields: true });
  if (batch.id !== id) throw new WebhookVerificationError("webhook id does not match its body");
  return batch;
}

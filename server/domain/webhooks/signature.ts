/**
 * Webhook signatures: HMAC-SHA256, keyed by the endpoint's secret, over
 * `<id>.<timestamp>.<body>`, sent as `v1,<base64>` (the SDK's
 * `verifyWebhook` checks them). Signing the id and timestamp with the body
 * lets a receiver refuse replays of old deliveries.
 */
import { createHmac } from "node:crypto";

/** The `webhook-signature` header value of a delivery. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${id}.${timestamp}.${body}`).digest("base64");
  return `v1,${mac}`;
}

import { create, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WebhookBatchSchema } from "../src/gen/chat/v1/webhook_pb.js";
import { verifyWebhook, WebhookVerificationError, webhookSignature } from "../src/webhooks.js";

const secret = "s3cret-s3cret-s3cret";
const body = toJsonString(
  WebhookBatchSchema,
  create(WebhookBatchSchema, { id: "wh_1_2_0_3", endpointId: 1n, roomId: 2n, toSeq: 3n }),
);
const now = 1_800_000_000_000;

async function headers(over: Record<string, string> = {}) {
  const ts = String(now / 1000);
  return {
    "webhook-id": "wh_1_2_0_3",
    "webhook-timestamp": ts,
    "webhook-signature": await webhookSignature(secret, "wh_1_2_0_3", ts, body),
    ...over,
  };
}

describe("verifyWebhook", () => {
  it("accepts a signed delivery and decodes its batch", async () => {
    const batch = await verifyWebhook({ secret, headers: await headers(), body, now });
    expect(batch.roomId).toBe(2n);
    const h = new Headers(await headers());
    expect((await verifyWebhook({ secret, headers: h, body, now })).id).toBe("wh_1_2_0_3");
  });

  it("refuses a wrong secret, a changed body or id, an old timestamp, missing headers", async () => {
    const bad = (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(WebhookVerificationError);
    await bad(verifyWebhook({ secret: "another-secret-123", headers: await headers(), body, now }));
    await bad(
      verifyWebhook({ secret, headers: await headers(), body: body.replace("2", "3"), now }),
    );
    await bad(
      verifyWebhook({ secret, headers: await headers({ "webhook-id": "wh_x" }), body, now }),
    );
    await bad(verifyWebhook({ secret, headers: await headers(), body, now: now + 301_000 }));
    await bad(verifyWebhook({ secret, headers: {}, body, now }));
  });

  it("matches the server's signature", async () => {
    const { signWebhook } = await import("../../server/domain/webhooks/signature.js");
    expect(await webhookSignature(secret, "id1", "1700000000", body)).toBe(
      signWebhook(secret, "id1", 1700000000, body),
    );
  });
});

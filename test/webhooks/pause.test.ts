/**
 * An endpoint that keeps failing pauses after WEBHOOK_MAX_FAILURES attempts
 * in a row, with its last error in the admin API; resumed, it gets every
 * event it missed.
 */
import { expect, it } from "vitest";
import { adminClient, newApiKey } from "../support/admin.js";
import { setupTestEnv } from "../support/fixture.js";
import { freePort } from "../support/private-services.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send } from "../support/users.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const { env, a } = setupTestEnv({
  deps: { webhooks: { intervalMs: 50, backoffMs: 10, maxFailures: 3, timeoutMs: 2_000 } },
});
const secret = "receiver-secret-0123456789";

it("pauses after 3 failures, shows why, and delivers everything once resumed", async () => {
  const { key } = await newApiKey(env.prisma);
  const ops = adminClient(a, key);
  const alice = await newUser(a);
  const room = await newRoom(alice);
  const receiver = new WebhookReceiver(secret, await freePort());
  const { webhook } = await ops.createWebhook({ url: receiver.url, secret });
  await send(alice, room, "one");
  await eventually(
    async () => (await ops.listWebhooks({})).webhooks[0]?.paused === true,
    10_000,
    "the endpoint paused",
  );
  const paused = (await ops.listWebhooks({})).webhooks[0];
  expect(paused?.failures).toBe(3);
  expect(paused?.lastError).toMatch(/ECONNREFUSED/);
  expect(paused?.lastErrorTime).toBeDefined();
  expect(paused?.lagEvents).toBe(1n);

  await receiver.start();
  await send(alice, room, "two");
  const resumed = await ops.setWebhookPaused({ webhookId: webhook?.id ?? 0n, paused: false });
  expect(resumed.webhook?.failures).toBe(0);
  await eventually(
    () => receiver.acknowledged.flatMap((x) => x.events).length === 2,
    10_000,
    "both messages",
  );
  await receiver.stop();
});

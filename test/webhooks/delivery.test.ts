/**
 * Webhook delivery to a real HTTP receiver, with two instances competing
 * for the endpoint: the receiver is down for a while, then answers 500s,
 * then recovers; every event arrives, in order per room, every signature is
 * valid (checked with the SDK), and a batch comes again only as a
 * re-delivery with the same id and the same events. Filters, replay and
 * the admin API's view (last error, lag, delivering instance) too.
 */
import { Code } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { WebhookEventKind } from "../../gen/chat/admin/v1/admin_pb.js";
import { adminClient, newApiKey } from "../support/admin.js";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { freePort } from "../support/private-services.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send } from "../support/users.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const { env, a, b } = setupTestEnv({
  redis: true,
  instances: 2,
  deps: {
    webhooks: {
      intervalMs: 50,
      backoffMs: 20,
      maxFailures: 1000,
      timeoutMs: 2_000,
      leaseMs: 3_000,
    },
  },
});
const secret = "receiver-secret-0123456789";

it("down, then 500s, then up: every event once acknowledged, in order per room, signed", async () => {
  const { key } = await newApiKey(env.prisma);
  const ops = adminClient(a, key);
  const alice = await newUser(a);
  const bob = await newUser(b);
  const r1 = await newRoom(alice, [bob]);
  const r2 = await newRoom(alice);
  const receiver = new WebhookReceiver(secret, await freePort());
  const { webhook } = await ops.createWebhook({ url: receiver.url, secret, batchSize: 5 });
  const id = webhook?.id ?? 0n;
  const start = new Map([
    [r1, 1n],
    [r2, 1n],
  ]);

  // Down: nothing listens.
  for (let i = 0; i < 6; i++) await send(i % 2 ? bob : alice, i % 2 ? r1 : r2, `down ${i}`);
  await eventually(
    async () => {
      const w = (await ops.listWebhooks({})).webhooks[0];
      return (w?.failures ?? 0) >= 2 && /ECONNREFUSED/.test(w?.lastError ?? "");
    },
    10_000,
    "failures while the receiver is down",
  );

  // 500s.
  receiver.status = 500;
  await receiver.start();
  for (let i = 0; i < 6; i++) await send(alice, i % 2 ? r1 : r2, `five hundred ${i}`);
  await eventually(
    async () => {
      const w = (await ops.listWebhooks({})).webhooks[0];
      return receiver.deliveries.length >= 2 && w?.lastError === "HTTP 500";
    },
    10_000,
    "500s",
  );

  // Up; a room created after the endpoint is delivered from its first event.
  receiver.status = 200;
  const r3 = await newRoom(bob, [alice]);
  start.set(r3, 0n);
  for (let i = 0; i < 6; i++) await send(alice, [r1, r2, r3][i % 3] as bigint, `up ${i}`);
  const heads = new Map<bigint, bigint>();
  for (const r of [r1, r2, r3]) {
    heads.set(r, (await env.prisma.room.findUniqueOrThrow({ where: { id: r } })).lastSeq);
  }
  const covered = (room: bigint) => {
    const seqs = new Set(
      receiver.acknowledged
        .filter((x) => x.roomId === room)
        .flatMap((x) => x.events.map((e) => e.seq)),
    );
    for (let s = (start.get(room) ?? 0n) + 1n; s <= (heads.get(room) ?? 0n); s++) {
      if (!seqs.has(s)) return false;
    }
    return true;
  };
  await eventually(() => [r1, r2, r3].every(covered), 20_000, "every event delivered");

  expect(receiver.deliveries.filter((d) => d.invalid)).toEqual([]);
  expect(receiver.deliveries.some((d) => d.status === 500)).toBe(true);
  // Same id, same batch; and every batch refused with a 500 was later acknowledged.
  const byId = new Map<string, string>();
  for (const d of receiver.deliveries) {
    const content = JSON.stringify(d.batch?.events.map((e) => `${e.roomId}:${e.seq}`));
    expect(byId.get(d.id) ?? content, d.id).toBe(content);
    byId.set(d.id, content);
  }
  const acked = new Set(receiver.deliveries.filter((d) => d.status === 200).map((d) => d.id));
  for (const d of receiver.deliveries) expect(acked.has(d.id), d.id).toBe(true);
  // Per room: acknowledged batches follow each other, each starting where the last ended.
  for (const room of [r1, r2, r3]) {
    const batches = receiver.deliveries.filter((d) => d.status === 200 && d.batch?.roomId === room);
    let at = start.get(room) ?? 0n;
    for (const d of batches) {
      expect(d.batch?.fromSeq).toBe(at);
      const seqs = d.batch?.events.map((e) => e.seq) ?? [];
      expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
      at = d.batch?.toSeq ?? at;
    }
    expect(at).toBe(heads.get(room));
  }
  await eventually(
    async () => {
      const w = (await ops.listWebhooks({})).webhooks[0];
      return w?.lagEvents === 0n && w.failures === 0 && w.deliveringInstance !== "";
    },
    5_000,
    "no lag",
  );

  // Replay: a room's events after a sequence come again.
  const before = receiver.acknowledged.length;
  await ops.replayWebhook({ webhookId: id, roomId: r1, afterSeq: (heads.get(r1) ?? 0n) - 2n });
  await eventually(() => receiver.acknowledged.length > before, 5_000, "replayed");
  const replayed = receiver.acknowledged.slice(before).flatMap((x) => x.events.map((e) => e.seq));
  expect(replayed).toEqual([(heads.get(r1) ?? 0n) - 1n, heads.get(r1)]);

  await ops.deleteWebhook({ webhookId: id });
  await expectCode(ops.replayWebhook({ webhookId: id, roomId: r1 }), Code.NotFound);
  await receiver.stop();
});

it("filters: an endpoint for custom events gets only those", async () => {
  const { key } = await newApiKey(env.prisma, "filters");
  const ops = adminClient(b, key);
  const alice = await newUser(a);
  const room = await newRoom(alice);
  const receiver = new WebhookReceiver(secret);
  await receiver.start();
  await ops.createWebhook({ url: receiver.url, secret, kinds: [WebhookEventKind.CUSTOM] });
  await send(alice, room, "not for the endpoint");
  const red = await ops.sendPriorityEvent({
    roomId: room,
    type: "red-packet",
    body: { case: "json", value: "{}" },
  });
  await eventually(() => receiver.acknowledged.length > 0, 10_000, "the custom event");
  const events = receiver.acknowledged.flatMap((x) => x.events);
  expect(events.map((e) => e.seq)).toEqual([red.seq]);
  expect(events[0]?.priority).toBe(true);
  await receiver.stop();
});

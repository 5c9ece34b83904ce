/**
 * Two server processes share an endpoint: exactly one delivers (its lease),
 * and when that process is killed (SIGKILL, no goodbye) the other takes
 * over once the lease expires, from the durable cursor: every event
 * arrives, in order per room.
 */
import { expect, it } from "vitest";
import { adminClient, newApiKey } from "../support/admin.js";
import { httpTransport } from "../support/clients.js";
import { setupTestEnv } from "../support/fixture.js";
import { envServerProcess, type ServerProcess } from "../support/processes.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send } from "../support/users.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

// No in-memory instance: only the two processes deliver.
const { env } = setupTestEnv({ redis: true, instances: 0 });
const secret = "receiver-secret-0123456789";
const vars = {
  WEBHOOK_INTERVAL_MS: "100",
  WEBHOOK_LEASE_MS: "1500",
  WEBHOOK_BACKOFF_MS: "50",
};

it("delivery continues when the delivering instance is killed", async () => {
  const servers: ServerProcess[] = await Promise.all([
    envServerProcess(env, vars),
    envServerProcess(env, vars),
  ]);
  const receiver = new WebhookReceiver(secret);
  try {
    await receiver.start();
    const { key } = await newApiKey(env.prisma);
    const alice = await newUser(httpTransport(servers[0]?.url ?? ""));
    const room = await newRoom(alice);
    const ops = adminClient(httpTransport(servers[0]?.url ?? ""), key);
    await ops.createWebhook({ url: receiver.url, secret, batchSize: 3 });
    for (let i = 0; i < 5; i++) await send(alice, room, `before ${i}`);
    let holder = "";
    await eventually(
      async () => {
        holder = (await ops.listWebhooks({})).webhooks[0]?.deliveringInstance ?? "";
        return receiver.acknowledged.flatMap((x) => x.events).length === 5 && holder !== "";
      },
      20_000,
      "the first events",
    );

    const victim = servers.find((s) => holder.includes(`-${s.process?.child.pid}-`));
    const survivor = servers.find((s) => s !== victim);
    expect(victim, holder).toBeDefined();
    const victimPid = victim?.process?.child.pid ?? 0;
    await victim?.stop("SIGKILL");
    expect(() => process.kill(victimPid, 0)).toThrow();
    const alive = adminClient(httpTransport(survivor?.url ?? ""), key);
    const aliceThere = await newUser(httpTransport(survivor?.url ?? ""));
    await alive.listUsers({});
    const sender = { ...alice, ...alice.on(httpTransport(survivor?.url ?? "")) };
    for (let i = 0; i < 5; i++) await send(sender, room, `after ${i}`);
    const head = (await env.prisma.room.findUniqueOrThrow({ where: { id: room } })).lastSeq;
    await eventually(
      () =>
        // Seq 1 (the room's creation) came before the endpoint.
        new Set(receiver.acknowledged.flatMap((x) => x.events.map((e) => e.seq))).size ===
        Number(head) - 1,
      20_000,
      "the events sent after the kill",
    );
    // Each event once or more, in order: acknowledged batches follow each other.
    let at = 1n;
    for (const batch of receiver.acknowledged) {
      if (batch.fromSeq < at) continue; // a re-delivery of a batch the victim sent but never recorded
      expect(batch.fromSeq).toBe(at);
      at = batch.toSeq;
    }
    expect(at).toBe(head);
    expect(receiver.deliveries.filter((d) => d.invalid)).toEqual([]);
    const after = (await alive.listWebhooks({})).webhooks[0]?.deliveringInstance ?? "";
    expect(after).toContain(`-${survivor?.process?.child.pid}-`);
    expect(aliceThere.id).toBeGreaterThan(0n);
  } finally {
    await receiver.stop();
    await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  }
}, 90_000);

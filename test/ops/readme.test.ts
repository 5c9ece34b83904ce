/**
 * The README's "Operate it" commands, run as written (bash, `npm run admin`,
 * `npx buf curl` through reflection) against a real server: only the URLs
 * change (the server's port, a local webhook receiver) and `npx buf` is
 * the binary npx would run. The webhook they
 * register receives signed batches.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { httpTransport } from "../support/clients.js";
import { setupTestEnv } from "../support/fixture.js";
import { repoRoot } from "../support/processes.js";
import { eventually } from "../support/timing.js";
import { newUser } from "../support/users.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const run = promisify(execFile);
const { env, server } = setupTestEnv({
  instances: 0,
  server: { webhooks: { intervalMs: 100 } },
});

/** The first `sh` block of the README's "Operate it" section. */
async function operateItScript(): Promise<string> {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("\n## Operate it\n"));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m?.[1]) throw new Error("no sh block in Operate it");
  return m[1];
}

it("works as written", async () => {
  const t = httpTransport(server.url);
  const alice = await newUser(t, "alice");
  const bob = await newUser(t, "bob");
  // The README's ids: the first two accounts of a fresh database.
  expect([alice.id, bob.id]).toEqual([1n, 2n]);
  const receiver = new WebhookReceiver("a-long-random-secret");
  await receiver.start();
  const script = (await operateItScript())
    .replaceAll("http://localhost:8080", server.url)
    .replaceAll("https://hooks.example.com/protochat", receiver.url)
    // The binary npx finds, without npx's own start-up per command.
    .replaceAll("npx buf ", `${repoRoot}node_modules/.bin/buf `);
  const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: env.databaseUrl },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  expect(stdout).toContain('"name": "support"');
  expect(stdout).toContain('"instances"');
  expect(stdout).toContain('"type": "red-packet"');
  expect(stdout).toMatch(/"method": "CreateRoom"/);
  // The webhook got the broadcasts and the red packet, signed (the receiver checks with the SDK).
  await eventually(
    () => receiver.acknowledged.flatMap((b) => b.events).length >= 3,
    10_000,
    "webhook batches",
  );
  expect(receiver.deliveries.filter((d) => d.invalid)).toEqual([]);
  await receiver.stop();
}, 150_000);

/**
 * Two instances sharing S3-compatible storage: s3rver (a real S3 API over
 * HTTP, files in a temp directory) on a free port, reached through
 * @aws-sdk/client-s3 with path-style URLs. A file uploaded through one
 * instance is downloaded through the other; a deleted message's files are
 * removed from the bucket.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { S3Storage } from "../../server/platform/storage/s3-storage.js";
import { inMemoryInstance } from "../support/env.js";
import { setupTestEnv } from "../support/fixture.js";
import { startServer, type TestServer } from "../support/server.js";
import { newRoom, newUser } from "../support/users.js";
import { get, uploadFile } from "./upload-kit.js";

const bucket = "protochat-test";
let s3: S3rver;
let s3Dir: string;
let storages: S3Storage[] = [];
let one: TestServer;
let two: TestServer;

const { env, a } = setupTestEnv();

function s3Storage(port: number): S3Storage {
  const s = new S3Storage({
    bucket,
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  storages.push(s);
  return s;
}

beforeAll(async () => {
  s3Dir = await mkdtemp(join(tmpdir(), "s3rver-"));
  s3 = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: s3Dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await s3.run();
  // Each instance has its own client of the same bucket, as separate processes would.
  one = await startServer(env, { storage: s3Storage(port) });
  two = await startServer(env, { storage: s3Storage(port) });
});

afterAll(async () => {
  for (const s of storages) s.close();
  storages = [];
  await s3?.close();
  await rm(s3Dir, { recursive: true, force: true });
});

it("serves through one instance what was uploaded through another, and removes deleted files", async () => {
  const alice = await newUser(a, "s3");
  const bob = await newUser(a, "s3");
  const room = await newRoom(alice, [bob], Visibility.PRIVATE);
  const bytes = randomBytes(300_000);
  const file = await uploadFile(one.url, alice, a, "data.bin", bytes);
  expect(file.status, file.text).toBe(200);
  const png = await sharp({ create: { width: 500, height: 400, channels: 4, background: "#a0c" } })
    .png()
    .toBuffer();
  const image = await uploadFile(one.url, alice, a, "pic.png", png);
  expect(image.status, image.text).toBe(200);
  const sent = await alice.msgs.sendMessage({
    roomId: room,
    text: "two files",
    clientMsgId: `s3_${Date.now()}`,
    attachmentIds: [file.id, image.id],
  });
  const [att, pic] = sent.message?.attachments ?? [];

  const whole = await get(two.url + (att?.url ?? ""), bob.token);
  expect(whole.status).toBe(200);
  expect(whole.bytes.equals(bytes)).toBe(true);
  const part = await get(two.url + (att?.url ?? ""), bob.token, { range: "bytes=1000-1999" });
  expect(part.status).toBe(206);
  expect(part.bytes.equals(bytes.subarray(1000, 2000))).toBe(true);
  const thumb = await get(two.url + (pic?.image?.thumbnailUrl ?? ""), bob.token);
  expect(thumb.status).toBe(200);
  expect((await sharp(thumb.bytes).metadata()).width).toBe(320);

  const stored = await env.prisma.upload.findMany({
    where: { id: { in: [file.id, image.id] } },
    select: { storageKey: true, thumbKey: true },
  });
  const keys = stored.flatMap((r) => [r.storageKey, ...(r.thumbKey ? [r.thumbKey] : [])]);
  expect(keys).toHaveLength(3);
  const probe = storages[0] as S3Storage;
  for (const k of keys) expect(await probe.size(k)).toBeGreaterThan(0);

  await alice.msgs.deleteMessage({ messageId: sent.message?.id ?? 0n });
  expect((await get(two.url + (att?.url ?? ""), bob.token)).status).toBe(404);
  const { rpc } = inMemoryInstance(env, { storage: probe });
  expect(await rpc.files.sweeper.sweep()).toBe(2);
  for (const k of keys) await expect(probe.size(k)).rejects.toThrow();
});

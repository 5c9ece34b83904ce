/**
 * Every way a message leaves the server carries its attachments' metadata
 * (id, name, size, detected type, download URL, image dimensions,
 * thumbnail URL and placeholder) and its thread root: a live feed, a feed
 * resumed from an older position on the other instance, ListMessages, the
 * admin history export and webhook deliveries.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, expect, it } from "vitest";
import type { Message } from "../../gen/chat/v1/message_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import type { Attachment } from "../../gen/chat/v1/upload_pb.js";
import { LocalStorage } from "../../server/platform/storage/local-storage.js";
import { adminClient, newApiKey } from "../support/admin.js";
import { FeedReader, roomEvents } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { freePort } from "../support/private-services.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser } from "../support/users.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { uploadFile } from "./upload-kit.js";

const dir = join(tmpdir(), `protochat-attachment-metadata-${randomBytes(4).toString("hex")}`);
const { env, server, a, b } = setupTestEnv({
  redis: true,
  instances: 2,
  server: true,
  deps: {
    storage: new LocalStorage(dir),
    files: { maxFileBytes: 1024 * 1024, maxUserBytes: 8 * 1024 * 1024, maxImagePixels: 4e6 },
    webhooks: {
      intervalMs: 50,
      backoffMs: 20,
      maxFailures: 1000,
      timeoutMs: 2_000,
      leaseMs: 3_000,
    },
  },
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const secret = "metadata-receiver-secret-0123";

/** What a client needs of an attachment, comparable across paths. */
function shape(att: Attachment | undefined) {
  return {
    id: att?.id,
    name: att?.name,
    contentType: att?.contentType,
    sizeBytes: att?.sizeBytes,
    url: att?.url,
    image: att?.image
      ? {
          width: att.image.width,
          height: att.image.height,
          frames: att.image.frames,
          thumbnailUrl: att.image.thumbnailUrl,
          placeholder: att.image.placeholder.length > 0,
        }
      : undefined,
  };
}

/** The messages created in a list of room events, by id. */
function created(events: ReturnType<typeof roomEvents>): Map<bigint, Message> {
  const out = new Map<bigint, Message>();
  for (const e of events) {
    if (e.change.case === "messageCreated" && e.change.value.message) {
      out.set(e.change.value.message.id, e.change.value.message);
    }
  }
  return out;
}

it("feeds, resumed feeds, history, exports and webhooks carry attachments and thread roots", async () => {
  const { key } = await newApiKey(env.prisma, "metadata");
  const ops = adminClient(a, key);
  const receiver = new WebhookReceiver(secret, await freePort());
  await receiver.start();
  await ops.createWebhook({ url: receiver.url, secret, batchSize: 10 });

  const alice = await newUser(a, "meta");
  const bob = await newUser(a, "meta");
  const room = await newRoom(alice, [bob], Visibility.PRIVATE);
  const live = FeedReader.open(bob.on(b).feed);
  await live.ready();

  const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: "#3a7" } })
    .png()
    .toBuffer();
  const pic = await uploadFile(server.url, alice, a, "photo.png", png);
  expect(pic.status, pic.text).toBe(200);
  const notes = Buffer.from("meeting notes\n".repeat(40));
  const doc = await uploadFile(server.url, bob, a, "notes.txt", notes);
  expect(doc.status, doc.text).toBe(200);

  const root = await alice.msgs.sendMessage({
    roomId: room,
    text: "a photo",
    clientMsgId: `meta_root_${Date.now()}`,
    attachmentIds: [pic.id],
  });
  const reply = await bob.msgs.sendMessage({
    roomId: room,
    text: "",
    clientMsgId: `meta_reply_${Date.now()}`,
    attachmentIds: [doc.id],
    threadRootId: root.message?.id ?? 0n,
  });
  const rootMsg = root.message as Message;
  const replyMsg = reply.message as Message;

  // What SendMessage returned is the reference, and it is complete.
  const image = shape(rootMsg.attachments[0]);
  expect(image).toEqual({
    id: pic.id,
    name: "photo.png",
    contentType: "image/png",
    sizeBytes: BigInt(png.length),
    url: `/files/${pic.id}`,
    image: {
      width: 400,
      height: 300,
      frames: 1,
      thumbnailUrl: `/files/${pic.id}/thumbnail`,
      placeholder: true,
    },
  });
  const file = shape(replyMsg.attachments[0]);
  expect(file).toEqual({
    id: doc.id,
    name: "notes.txt",
    contentType: "text/plain; charset=utf-8",
    sizeBytes: BigInt(notes.length),
    url: `/files/${doc.id}`,
    image: undefined,
  });
  expect(replyMsg.threadRootId).toBe(rootMsg.id);

  const check = (byId: Map<bigint, Message>, where: string) => {
    const r = byId.get(rootMsg.id);
    const t = byId.get(replyMsg.id);
    expect(shape(r?.attachments[0]), where).toEqual(image);
    expect(r?.threadRootId, where).toBe(0n);
    expect(shape(t?.attachments[0]), where).toEqual(file);
    expect(t?.threadRootId, where).toBe(rootMsg.id);
  };

  // A live feed on the other instance (fanned out through Redis).
  const liveEvents = roomEvents(
    await live.until(
      (ev) =>
        ev.case === "roomEvent" &&
        ev.value.change.case === "messageCreated" &&
        ev.value.change.value.message?.id === replyMsg.id,
    ),
  );
  live.close();
  check(created(liveEvents), "live feed");

  // A feed resumed from before the root, on the other instance (read back from the database).
  const resumed = FeedReader.open(bob.on(b).feed, {
    positions: [{ roomId: room, lastSeq: rootMsg.seq - 1n }],
  });
  await resumed.ready();
  const replayed = roomEvents(await resumed.take(2));
  resumed.close();
  expect(replayed.map((e) => e.seq)).toEqual([rootMsg.seq, replyMsg.seq]);
  check(created(replayed), "resumed feed");

  // History.
  const history = await bob.on(b).msgs.listMessages({ roomId: room, limit: 10 });
  check(new Map(history.messages.map((m) => [m.id, m])), "ListMessages");

  // The admin export.
  const exported = await ops.exportHistory({ roomId: room });
  check(created(exported.events), "ExportHistory");

  // Webhook deliveries.
  await eventually(
    () =>
      receiver.acknowledged.some((x) =>
        x.events.some((e) => x.roomId === room && e.seq === replyMsg.seq),
      ),
    15_000,
    "the reply delivered",
  );
  expect(receiver.deliveries.filter((d) => d.invalid)).toEqual([]);
  check(
    created(receiver.acknowledged.filter((x) => x.roomId === room).flatMap((x) => x.events)),
    "webhook",
  );
  await receiver.stop();
});

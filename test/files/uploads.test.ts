/**
 * Uploads end to end on a real server: CreateUpload, the PUT of the bytes
 * (authenticated before the body is read, size enforced while streaming,
 * type from the bytes), attaching to a message, authorized downloads with
 * ranges, images (size, thumbnail, placeholder, EXIF removed, animation
 * kept, pixel limit), limits and the removal of files nobody may read.
 */
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { UploadState } from "../../gen/chat/v1/upload_pb.js";
import { LocalStorage } from "../../server/platform/storage/local-storage.js";
import { inMemoryInstance } from "../support/env.js";
import { expectCode, reasonOf } from "../support/errors.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser } from "../support/users.js";
import { get, put, truncatedPut, uploadFile, uploadsOf } from "./upload-kit.js";

const dir = join(tmpdir(), `protochat-files-test-${randomBytes(4).toString("hex")}`);
const storage = new LocalStorage(dir);
const maxFileBytes = 1024 * 1024;
const files = { maxFileBytes, maxUserBytes: 3 * maxFileBytes, maxImagePixels: 4_000_000 };
const { env, server, a } = setupTestEnv({ deps: { storage, files }, server: true });

/** Every stored object (staging excluded). */
async function storedFiles(): Promise<string[]> {
  const all = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.filter((e) => e.isFile() && !e.parentPath.includes(".staging")).map((e) => e.name);
}
async function stagedFiles(): Promise<string[]> {
  return readdir(join(dir, ".staging")).catch(() => []);
}

let n = 0;
const key = () => `k${++n}_${Date.now()}`;

async function people() {
  const alice = await newUser(a, "up");
  const bob = await newUser(a, "up");
  const carol = await newUser(a, "up");
  const room = await newRoom(alice, [bob], Visibility.PRIVATE);
  return { alice, bob, carol, room };
}

describe("uploads", () => {
  it("stores a file with the type of its bytes, attaches it and serves it to members only", async () => {
    const { alice, bob, carol, room } = await people();
    const text = Buffer.from("hello, this is a plain text file\n".repeat(100));
    // The declared type lies: the server goes by the bytes.
    const up = await uploadFile(server.url, alice, a, "../../notes.txt", text, "image/png");
    expect(up.status, up.text).toBe(200);
    const answer = JSON.parse(up.text);
    expect(answer.contentType).toBe("text/plain; charset=utf-8");
    expect(answer.name).toBe("notes.txt");
    expect(answer.image).toBeUndefined();

    const feed = FeedReader.open(bob.feed);
    await feed.ready();
    const sent = await alice.msgs.sendMessage({
      roomId: room,
      text: "",
      clientMsgId: key(),
      attachmentIds: [up.id],
    });
    const att = sent.message?.attachments[0];
    // The live event carries the attachment as the response does.
    const live = (
      await feed.until((ev) => ev.case === "roomEvent" && ev.value.change.case === "messageCreated")
    ).at(-1);
    feed.close();
    const created = live?.case === "roomEvent" ? live.value.change : undefined;
    expect(created?.case === "messageCreated" && created.value.message?.attachments).toEqual(
      sent.message?.attachments,
    );
    expect(att?.id).toBe(up.id);
    expect(att?.sizeBytes).toBe(BigInt(text.length));
    const history = await bob.msgs.listMessages({ roomId: room });
    const seen = history.messages.find((m) => m.id === sent.message?.id);
    expect(seen?.attachments.map((x) => x.url)).toEqual([`/files/${up.id}`]);

    const dl = await get(server.url + (att?.url ?? ""), bob.token);
    expect(dl.status).toBe(200);
    expect(dl.bytes.equals(text)).toBe(true);
    expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(dl.headers.get("content-disposition")).toMatch(/^inline; filename="notes.txt"/);
    expect(dl.headers.get("cache-control")).toContain("private");
    expect(dl.headers.get("etag")).toBeTruthy();

    const part = await get(server.url + (att?.url ?? ""), bob.token, { range: "bytes=6-10" });
    expect(part.status).toBe(206);
    expect(part.bytes.toString()).toBe(text.subarray(6, 11).toString());
    expect(part.headers.get("content-range")).toBe(`bytes 6-10/${text.length}`);
    const tail = await get(server.url + (att?.url ?? ""), bob.token, { range: "bytes=-4" });
    expect(tail.bytes.equals(text.subarray(-4))).toBe(true);
    const past = await get(server.url + (att?.url ?? ""), bob.token, {
      range: `bytes=${text.length}-`,
    });
    expect(past.status).toBe(416);
    const cached = await get(server.url + (att?.url ?? ""), bob.token, {
      "if-none-match": dl.headers.get("etag") ?? "",
    });
    expect(cached.status).toBe(304);

    // Not a member of the private room, no token, an unknown file: all 404/401, nothing leaks.
    expect((await get(server.url + (att?.url ?? ""), carol.token)).status).toBe(404);
    expect((await get(`${server.url}/files/99999999`, carol.token)).status).toBe(404);
    expect((await get(server.url + (att?.url ?? ""), undefined)).status).toBe(401);
    // Attached once only.
    await expectCode(
      alice.msgs.sendMessage({
        roomId: room,
        text: "again",
        clientMsgId: key(),
        attachmentIds: [up.id],
      }),
      Code.FailedPrecondition,
    );
  });

  it("takes uploads and serves downloads over HTTP/2 (h2c) too", async () => {
    const { alice } = await people();
    const bytes = randomBytes(200_000);
    const created = await uploadsOf(alice, a).createUpload({
      name: "h2.bin",
      sizeBytes: BigInt(bytes.length),
    });
    const session = connect(server.url);
    try {
      const call = (headers: Record<string, string>, body?: Buffer) =>
        new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
          const stream = session.request({ authorization: `Bearer ${alice.token}`, ...headers });
          const chunks: Buffer[] = [];
          let status = 0;
          stream.on("response", (h) => {
            status = Number(h[":status"]);
          });
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => resolve({ status, body: Buffer.concat(chunks) }));
          stream.on("error", reject);
          stream.end(body);
        });
      const put = await call({ ":method": "PUT", ":path": created.upload?.uploadUrl ?? "" }, bytes);
      expect(put.status, put.body.toString()).toBe(200);
      const got = await call({ ":method": "GET", ":path": `/files/${created.upload?.id}` });
      expect(got.status).toBe(200);
      expect(got.body.equals(bytes)).toBe(true);
    } finally {
      session.close();
    }
  });

  it("serves active types as downloads", async () => {
    const { alice } = await people();
    const html = Buffer.from("<html><script>alert(1)</script></html>");
    const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(64)]);
    for (const [name, bytes] of [
      ["page.html", html],
      ["doc.pdf", pdf],
    ] as const) {
      const up = await uploadFile(server.url, alice, a, name, bytes, "text/html");
      expect(up.status, up.text).toBe(200);
      const dl = await get(`${server.url}/files/${up.id}`, alice.token);
      expect(dl.status).toBe(200);
      expect(dl.headers.get("content-type")).not.toMatch(/html/);
      if (name === "doc.pdf") {
        expect(dl.headers.get("content-type")).toBe("application/pdf");
        expect(dl.headers.get("content-disposition")).toMatch(/^attachment;/);
      }
      expect(dl.headers.get("content-security-policy")).toContain("sandbox");
    }
  });

  it("refuses a PUT without a token or of another user's upload, before reading the body", async () => {
    const { alice, bob, room } = await people();
    const created = await uploadsOf(alice, a).createUpload({ name: "a.bin", sizeBytes: 10n });
    const url = server.url + (created.upload?.uploadUrl ?? "");
    expect((await put(url, new Uint8Array(10))).status).toBe(401);
    expect((await put(url, new Uint8Array(10), bob.token)).status).toBe(404);
    expect(
      (await uploadsOf(alice, a).getUpload({ uploadId: created.upload?.id ?? 0n })).upload?.state,
    ).toBe(UploadState.PENDING);
    await expectCode(
      uploadsOf(bob, a).getUpload({ uploadId: created.upload?.id ?? 0n }),
      Code.NotFound,
    );
    // Bob cannot attach it; Alice cannot attach it before its bytes came.
    const up = await uploadFile(server.url, alice, a, "b.bin", randomBytes(20));
    await expectCode(
      bob.msgs.sendMessage({ roomId: room, text: "x", clientMsgId: key(), attachmentIds: [up.id] }),
      Code.NotFound,
    );
    await expectCode(
      alice.msgs.sendMessage({
        roomId: room,
        text: "x",
        clientMsgId: key(),
        attachmentIds: [created.upload?.id ?? 0n],
      }),
      Code.FailedPrecondition,
    );
  });

  it("cuts off a body larger than announced while it streams and keeps nothing", async () => {
    const { alice } = await people();
    const before = await storedFiles();
    const created = await uploadsOf(alice, a).createUpload({ name: "big.bin", sizeBytes: 1000n });
    const url = server.url + (created.upload?.uploadUrl ?? "");
    // Streamed without a length: the server only learns the size by counting.
    async function* body() {
      for (let i = 0; i < 64; i++) yield randomBytes(16 * 1024);
    }
    const res = await put(url, body(), alice.token).catch(() => ({ status: 413, text: "" }));
    expect(res.status).toBe(413);
    await eventually(async () => (await stagedFiles()).length === 0, 5_000, "staging emptied");
    expect(await storedFiles()).toEqual(before);
    const again = await uploadsOf(alice, a).getUpload({ uploadId: created.upload?.id ?? 0n });
    expect(again.upload?.state).toBe(UploadState.PENDING);
    // Larger than the per-file maximum: refused when announced.
    const err = await expectCode(
      uploadsOf(alice, a).createUpload({ name: "huge", sizeBytes: BigInt(maxFileBytes + 1) }),
      Code.InvalidArgument,
    );
    expect(reasonOf(err)).toBe("UPLOAD_TOO_LARGE");
  });

  it("keeps nothing of a truncated body", async () => {
    const { alice } = await people();
    const before = await storedFiles();
    const created = await uploadsOf(alice, a).createUpload({
      name: "cut.bin",
      sizeBytes: 100_000n,
    });
    await truncatedPut(
      server.url + (created.upload?.uploadUrl ?? ""),
      alice.token,
      100_000,
      randomBytes(30_000),
    );
    await eventually(async () => (await stagedFiles()).length === 0, 5_000, "staging emptied");
    expect(await storedFiles()).toEqual(before);
    const again = await uploadsOf(alice, a).getUpload({ uploadId: created.upload?.id ?? 0n });
    expect(again.upload?.state).toBe(UploadState.PENDING);
  });

  it("enforces the per-user total", async () => {
    const alice = await newUser(a, "quota");
    const ups = uploadsOf(alice, a);
    await ups.createUpload({ name: "1", sizeBytes: BigInt(maxFileBytes) });
    await ups.createUpload({ name: "2", sizeBytes: BigInt(maxFileBytes) });
    const third = await ups.createUpload({ name: "3", sizeBytes: BigInt(maxFileBytes) });
    expect(third.limits?.usedUserBytes).toBe(BigInt(3 * maxFileBytes));
    const err = await expectCode(
      ups.createUpload({ name: "4", sizeBytes: 1n }),
      Code.ResourceExhausted,
    );
    expect(reasonOf(err)).toBe("UPLOAD_QUOTA_EXCEEDED");
  });
});

describe("images", () => {
  it("measures, strips EXIF, makes a thumbnail and a placeholder", async () => {
    const { alice, bob, room } = await people();
    const jpeg = await sharp({
      create: { width: 800, height: 600, channels: 3, background: "#3a7" },
    })
      .jpeg()
      .withExif({ IFD0: { Copyright: "secret place", Artist: "alice" } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const up = await uploadFile(
      server.url,
      alice,
      a,
      "photo.jpg",
      jpeg,
      "application/octet-stream",
    );
    expect(up.status, up.text).toBe(200);
    const sent = await alice.msgs.sendMessage({
      roomId: room,
      text: "look",
      clientMsgId: key(),
      attachmentIds: [up.id],
    });
    const image = sent.message?.attachments[0]?.image;
    expect(sent.message?.attachments[0]?.contentType).toBe("image/jpeg");
    expect([image?.width, image?.height, image?.frames]).toEqual([800, 600, 1]);
    expect(image?.placeholder.length).toBeGreaterThan(0);
    expect(image?.placeholder.length).toBeLessThan(1000);

    const file = await get(`${server.url}/files/${up.id}`, bob.token);
    const meta = await sharp(file.bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect([meta.width, meta.height]).toEqual([800, 600]);
    const thumb = await get(server.url + (image?.thumbnailUrl ?? ""), bob.token);
    expect(thumb.headers.get("content-type")).toBe("image/webp");
    const t = await sharp(thumb.bytes).metadata();
    expect([t.width, t.height]).toEqual([320, 240]);
  });

  it("keeps animations", async () => {
    const { alice } = await people();
    const frame = (c: string) =>
      sharp({ create: { width: 40, height: 30, channels: 3, background: c } })
        .png()
        .toBuffer();
    const gif = await sharp([await frame("#f00"), await frame("#0f0"), await frame("#00f")], {
      join: { animated: true },
    })
      .gif()
      .toBuffer();
    const up = await uploadFile(server.url, alice, a, "anim.gif", gif);
    expect(up.status, up.text).toBe(200);
    expect(JSON.parse(up.text).image).toMatchObject({ width: 40, height: 30, frames: 3 });
    const file = await get(`${server.url}/files/${up.id}`, alice.token);
    expect((await sharp(file.bytes, { animated: true }).metadata()).pages).toBe(3);
  });

  it("refuses an image beyond the pixel limit from its header", async () => {
    const { alice } = await people();
    const before = await storedFiles();
    const png = await sharp({
      create: { width: 2100, height: 2000, channels: 3, background: "#000" },
    })
      .png()
      .toBuffer();
    const up = await uploadFile(server.url, alice, a, "bomb.png", png);
    expect(up.status).toBe(422);
    expect(JSON.parse(up.text).message).toMatch(/pixels/);
    expect(await storedFiles()).toEqual(before);
  });
});

describe("lifecycle", () => {
  it("removes uploads never attached after their TTL and files of deleted messages", async () => {
    const { rpc } = inMemoryInstance(env, { storage, files });
    const { alice, bob, room } = await people();
    const kept = await uploadFile(server.url, alice, a, "kept.txt", Buffer.from("kept file text"));
    const stale = await uploadFile(
      server.url,
      alice,
      a,
      "stale.txt",
      Buffer.from("stale file text"),
    );
    const gone = await uploadFile(server.url, alice, a, "gone.txt", Buffer.from("gone file text"));
    const sent = await alice.msgs.sendMessage({
      roomId: room,
      text: "files",
      clientMsgId: key(),
      attachmentIds: [gone.id],
    });
    await env.prisma.upload.update({ where: { id: stale.id }, data: { expiresAt: new Date(0) } });
    await alice.msgs.deleteMessage({ messageId: sent.message?.id ?? 0n });
    // Gone from history at once, removed from storage by the sweep.
    const history = await bob.msgs.listMessages({ roomId: room });
    expect(history.messages.find((m) => m.id === sent.message?.id)?.attachments).toEqual([]);
    const count = await storedFiles();
    expect(await rpc.files.sweeper.sweep()).toBe(2);
    expect((await storedFiles()).length).toBe(count.length - 2);
    expect((await get(`${server.url}/files/${gone.id}`, alice.token)).status).toBe(404);
    expect((await get(`${server.url}/files/${stale.id}`, alice.token)).status).toBe(404);
    expect((await get(`${server.url}/files/${kept.id}`, alice.token)).status).toBe(200);
  });
});

/**
 * `npm run bench -- files`: uploads and sends with attachments against a
 * server process (local-disk storage in a temp directory).
 *
 * 1. Throughput: `--files` files of `--file-kib` KiB (random bytes, so no
 *    image work), `--concurrency` at a time, each CreateUpload + PUT:
 *    MB/s of bodies stored, and per-upload latency.
 * 2. Fan-out: `--subscribers` feeds follow one room; one sender sends
 *    `--sends` messages, each with its own small upload attached (the
 *    upload before each send is not timed): sends/s and deliveries/s,
 *    checked: every feed received every message with its attachment.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChatClient, createChatClient, Visibility } from "@protochat/sdk/node";
import { withHarness } from "../lib/harness.js";
import { Histogram } from "../lib/histogram.js";
import { finish, makeRecord } from "../lib/report.js";
import type { FilesOptions } from "./options.js";

/** What a files run stores. */
export interface FilesResult {
  uploadMBps: number;
  uploadMsP50: number;
  uploadMsP99: number;
  sendsPerS: number;
  deliveriesPerS: number;
  deliveries: number;
  expectedDeliveries: number;
}

const password = "bench password 123";

async function account(url: string, name: string): Promise<ChatClient> {
  const c = createChatClient({ baseUrl: url, httpVersion: "1.1" });
  await c.auth.register({ username: name, password });
  await c.login(name, password);
  return c;
}

/** Runs the scenario, prints and stores the result. */
export async function runFiles(o: FilesOptions): Promise<void> {
  const storage = mkdtempSync(join(tmpdir(), "bench-files-"));
  const maxFile = String(Math.max(o.fileKiB * 1024, 1024 * 1024));
  const serverEnv = {
    STORAGE_DIR: storage,
    UPLOAD_MAX_FILE_BYTES: maxFile,
    UPLOAD_USER_QUOTA_BYTES: String(1024 ** 4),
    ...o.env,
  };
  try {
    await withHarness(
      { scenario: "files", serverEnv, fdLimit: o.subscribers + 2048 },
      async (h) => {
        const url = h.server.baseUrl;
        const tag = Date.now().toString(36);
        const sender = await account(url, `up_${tag}`);

        // 1. Upload throughput.
        const body = randomBytes(o.fileKiB * 1024);
        const latency = new Histogram();
        let next = 0;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: o.concurrency }, async () => {
            while (next < o.files) {
              next += 1;
              const t = performance.now();
              await sender.upload({ name: `f${next}.bin`, data: body });
              latency.record(performance.now() - t);
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        const uploadMBps = (o.files * body.length) / 1e6 / seconds;
        h.log(`uploads: ${uploadMBps.toFixed(1)} MB/s`);

        // 2. Sends with attachments under fan-out.
        const readers = await Promise.all(
          Array.from({ length: Math.min(o.subscribers, 20) }, (_, i) =>
            account(url, `rd_${tag}_${i}`),
          ),
        );
        const room = await sender.rooms.createRoom({
          name: `files ${tag}`,
          visibility: Visibility.PUBLIC,
          memberIds: [],
        });
        const roomId = room.room?.id ?? 0n;
        for (const r of readers) await r.rooms.joinRoom({ roomId });
        const ac = new AbortController();
        // One signal ends every feed: more listeners than the default warning's ten.
        setMaxListeners(0, ac.signal);
        let deliveries = 0;
        const feeds = Array.from({ length: o.subscribers }, async (_, i) => {
          const reader = readers[i % readers.length] as ChatClient;
          const stream = reader.feed.subscribe(
            { positions: [{ roomId, lastSeq: room.room?.lastSeq ?? 0n }] },
            { signal: ac.signal },
          );
          let seen = 0;
          try {
            for await (const res of stream) {
              const ev = res.event?.event;
              if (ev?.case !== "roomEvent" || ev.value.change.case !== "messageCreated") continue;
              if ((ev.value.change.value.message?.attachments.length ?? 0) === 1) {
                deliveries += 1;
                seen += 1;
              }
              if (seen === o.sends) return;
            }
          } catch {
            // Aborted at the end.
          }
        });
        // Let the feeds open before the clock starts.
        await new Promise((r) => setTimeout(r, 2_000));
        const small = randomBytes(2048);
        const ids: bigint[] = [];
        for (let i = 0; i < o.sends; i++) {
          ids.push((await sender.upload({ name: `a${i}.bin`, data: small })).id);
        }
        const sendStart = performance.now();
        for (const id of ids) await sender.send(roomId, "", { attachmentIds: [id] });
        const sendSeconds = (performance.now() - sendStart) / 1000;
        const waitUntil = Date.now() + 60_000;
        while (deliveries < o.sends * o.subscribers && Date.now() < waitUntil) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const allSeconds = (performance.now() - sendStart) / 1000;
        ac.abort();
        await Promise.allSettled(feeds);
        await h.stopProcesses();

        const expected = o.sends * o.subscribers;
        const result: FilesResult = {
          uploadMBps: Math.round(uploadMBps * 10) / 10,
          uploadMsP50: Math.round(latency.quantile(0.5)),
          uploadMsP99: Math.round(latency.quantile(0.99)),
          sendsPerS: Math.round(o.sends / sendSeconds),
          deliveriesPerS: Math.round(deliveries / allSeconds),
          deliveries,
          expectedDeliveries: expected,
        };
        const problems =
          deliveries === expected ? [] : [`${deliveries} of ${expected} deliveries arrived`];
        finish(
          h,
          makeRecord(h, o, result, problems),
          [
            [
              "uploads",
              `${result.uploadMBps} MB/s (p50 ${result.uploadMsP50} ms, p99 ${result.uploadMsP99} ms)`,
            ],
            ["sends with attachment", `${result.sendsPerS}/s, one at a time`],
            ["deliveries", `${result.deliveriesPerS}/s (${deliveries} of ${expected})`],
          ],
          o.save,
        );
      },
    );
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
}

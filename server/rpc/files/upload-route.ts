/**
 * `PUT /uploads/<id>`: the bytes of an announced upload. The caller is
 * authenticated from the headers before a byte of the body is read (a
 * stranger's upload is refused without reading it); the body is streamed
 * to a staging file and cut off the moment it passes the announced size;
 * a body shorter than announced (a client gone mid-way) keeps nothing. The
 * type comes from the bytes; images are re-encoded without metadata and
 * get a thumbnail and a placeholder; then the files go to storage and the
 * upload becomes READY. Anything stored for a request that fails later is
 * removed again.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { AttachmentSchema } from "../../../gen/chat/v1/upload_pb.js";
import type { TokenService } from "../../domain/auth/tokens.js";
import { toAttachment } from "../../domain/files/upload-view.js";
import type { Uploads } from "../../domain/files/uploads.js";
import { chatError } from "../../platform/errors.js";
import { allowBody, releaseBodyTimeout } from "../../platform/http/one-port-listener.js";
import { securityHeaders } from "../../platform/http/security-headers.js";
import { detectContentType, imageTypes } from "../../platform/media/content-type.js";
import { BadImageError, ImageTooLargeError, probeImage } from "../../platform/media/image-probe.js";
import type { FileStorage } from "../../platform/storage/file-storage.js";
import { authenticate } from "../interceptors/auth.js";
import { answerError, asConnectError, type Req, type Res } from "./http-answers.js";

/** What the upload route needs. */
export interface UploadRouteDeps {
  tokens: TokenService;
  uploads: Uploads;
  storage: FileStorage;
  logger: Logger;
  /** A body with no byte for this long is cut (408). */
  bodyIdleTimeoutMs: number;
}

/** The body passed the announced size. */
class BodyTooLarge extends Error {}
/** No byte came for too long. */
class BodyIdle extends Error {}

/** Counts bytes and fails the moment they pass `max`. */
class SizeLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(new BodyTooLarge());
    else done(null, chunk);
  }
}

/** Handles one `PUT /uploads/<id>`. */
export async function handleUpload(deps: UploadRouteDeps, req: Req, res: Res, id: bigint) {
  const { uploads, storage } = deps;
  let caller: { userId: bigint };
  let size: number;
  try {
    caller = await authenticate(deps.tokens, req.headers.authorization);
    const row = await uploads.ownUpload(caller.userId, id);
    if (row.status === "READY") {
      throw new ConnectError("this upload's bytes were already sent", Code.FailedPrecondition);
    }
    size = Number(row.sizeBytes);
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) !== size) {
      const tooLarge = Number(declared) > size;
      throw tooLarge ? tooLargeError(size) : shortBody(size, Number(declared));
    }
  } catch (err) {
    answerError(req, res, asConnectError(err), { close: true, status: statusFor(err) });
    return;
  }

  const stem = `${id}-${randomBytes(6).toString("hex")}`;
  const staged = join(storage.stagingDir, stem);
  const staging = [staged, `${staged}.clean`, `${staged}.thumb`];
  const stored: string[] = [];
  let sink: WriteStream | undefined;
  try {
    allowBody(req, res);
    // The body may take as long as it needs while bytes keep coming.
    releaseBodyTimeout(req);
    await mkdir(storage.stagingDir, { recursive: true });
    const limit = new SizeLimit(size);
    sink = createWriteStream(staged);
    await pipeline(req, idleCut(deps.bodyIdleTimeoutMs), limit, sink);
    if (limit.bytes !== size) throw shortBody(size, limit.bytes);

    const contentType = await detectContentType(staged);
    let file = staged;
    let image: Awaited<ReturnType<typeof probeImage>> | undefined;
    if (imageTypes.has(contentType)) {
      image = await probeImage(
        staged,
        `${staged}.clean`,
        `${staged}.thumb`,
        uploads.limits.maxImagePixels,
      );
      file = `${staged}.clean`;
    }
    const key = `u/${id}/${randomBytes(9).toString("base64url")}`;
    const thumbKey = image ? `${key}.thumb.webp` : null;
    await storage.putFile(key, file, contentType);
    stored.push(key);
    if (thumbKey) {
      await storage.putFile(thumbKey, `${staged}.thumb`, "image/webp");
      stored.push(thumbKey);
    }
    const done = await uploads.complete(id, {
      storageKey: key,
      sizeBytes: BigInt(await storage.size(key)),
      contentType,
      thumbKey,
      width: image?.width ?? null,
      height: image?.height ?? null,
      frames: image?.frames ?? null,
      placeholder: image ? new Uint8Array(image.placeholder) : null,
    });
    if (!done) {
      throw new ConnectError("this upload's bytes were already sent", Code.FailedPrecondition);
    }
    stored.length = 0;
    const body = toJsonString(AttachmentSchema, toAttachment(done));
    res.writeHead(200, {
      ...securityHeaders,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(body);
  } catch (err) {
    // Client faults are answered; anything else (storage, database) is ours to log.
    const expected =
      err instanceof ConnectError ||
      err instanceof BodyTooLarge ||
      err instanceof BodyIdle ||
      err instanceof ImageTooLargeError ||
      err instanceof BadImageError ||
      isClientGone(err);
    if (!expected) deps.logger.error({ err, uploadId: String(id) }, "upload failed");
    answerError(req, res, toAnswer(err, size), { close: true, status: statusFor(err) });
  } finally {
    // A failed pipeline may leave the file still opening: remove it after it closed.
    if (sink && !sink.closed) await new Promise<void>((done) => sink?.once("close", () => done()));
    await Promise.allSettled([
      ...staging.map((p) => rm(p, { force: true })),
      ...stored.map((k) => storage.delete(k)),
    ]);
  }
}

/** Passes bytes on, failing when none came for `ms`. */
function idleCut(ms: number): Transform {
  let timer: NodeJS.Timeout | undefined;
  const t: Transform = new Transform({
    transform(chunk, _enc, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => t.destroy(new BodyIdle()), ms);
    timer.unref();
  };
  arm();
  return t;
}

function isClientGone(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ABORT_ERR";
}

/** Errors answered 413 rather than 400. */
const payloadTooLarge = new WeakSet<ConnectError>();

function tooLargeError(size: number): ConnectError {
  const err = chatError(
    Code.InvalidArgument,
    `the body is larger than the ${size} bytes announced by CreateUpload`,
    ErrorReason.UPLOAD_TOO_LARGE,
  );
  payloadTooLarge.add(err);
  return err;
}

function shortBody(size: number, got: number): ConnectError {
  return new ConnectError(
    `the body has ${got} bytes; CreateUpload announced ${size}: send exactly that many`,
    Code.InvalidArgument,
  );
}

function toAnswer(err: unknown, size: number): ConnectError {
  if (err instanceof BodyTooLarge) return tooLargeError(size);
  if (err instanceof BodyIdle) {
    return new ConnectError("the body stopped arriving", Code.DeadlineExceeded);
  }
  if (isClientGone(err)) return shortBody(size, 0);
  if (err instanceof ImageTooLargeError) {
    return chatError(Code.InvalidArgument, err.message, ErrorReason.IMAGE_TOO_LARGE);
  }
  if (err instanceof BadImageError) {
    return new ConnectError("the image could not be decoded", Code.InvalidArgument);
  }
  return asConnectError(err);
}

/** 413 for a body beyond the announced size, 422 for images refused; otherwise by code. */
function statusFor(err: unknown): number | undefined {
  if (err instanceof BodyTooLarge) return 413;
  if (err instanceof ConnectError && payloadTooLarge.has(err)) return 413;
  if (err instanceof ImageTooLargeError || err instanceof BadImageError) return 422;
  return undefined;
}

/**
 * Files in an S3 bucket, through @aws-sdk/client-s3: AWS or any
 * S3-compatible store (MinIO, Ceph, s3rver in the tests), so every instance
 * reads what any instance stored. A file is sent from its finished staging
 * copy with its exact length, so a failed upload leaves no object behind.
 */
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { ByteRange, FileStorage } from "./file-storage.js";

/** Where the bucket is. Credentials come from the SDK's usual sources (AWS_* variables). */
export interface S3Options {
  bucket: string;
  /** Empty: AWS. */
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  /** Explicit credentials (tests); otherwise the SDK's default chain. */
  credentials?: S3ClientConfig["credentials"];
}

/** The S3 store. */
export class S3Storage implements FileStorage {
  readonly kind = "s3";
  readonly stagingDir = join(tmpdir(), "protochat-uploads");
  private readonly client: S3Client;

  constructor(private readonly opts: S3Options) {
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint || undefined,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      // Checksums only where S3 requires them: the default sends streamed
      // bodies aws-chunked with a trailing checksum, which many
      // S3-compatible stores do not understand (they would store the
      // chunk framing as the file).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async putFile(key: string, path: string, contentType: string): Promise<void> {
    try {
      const { size } = await stat(path);
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key: key,
          Body: createReadStream(path),
          ContentLength: size,
          ContentType: contentType,
        }),
      );
    } finally {
      await rm(path, { force: true });
    }
  }

  async size(key: string): Promise<number> {
    const out = await this.client.send(
      new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }),
    );
    return out.ContentLength ?? 0;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: this.opts.bucket,
        Key: key,
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }),
    );
    if (!out.Body) throw new Error(`object ${key} has no body`);
    return out.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }));
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}

/** The file storage a configuration chooses: S3 when a bucket is set, local disk otherwise. */
import type { FilesConfig } from "../../config.js";
import type { FileStorage } from "./file-storage.js";
import { LocalStorage } from "./local-storage.js";
import { S3Storage } from "./s3-storage.js";

/** Builds the storage of `files` (nothing is contacted until the first file). */
export function createStorage(files: FilesConfig): FileStorage & { close?(): void } {
  if (files.s3Bucket !== "") {
    return new S3Storage({
      bucket: files.s3Bucket,
      endpoint: files.s3Endpoint,
      region: files.s3Region,
      forcePathStyle: files.s3ForcePathStyle,
    });
  }
  return new LocalStorage(files.storageDir);
}

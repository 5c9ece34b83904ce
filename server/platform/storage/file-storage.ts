/**
 * Where uploaded files are kept, behind one interface: local disk (one
 * instance, or a volume every instance mounts) or an S3-compatible store
 * (several instances). Objects are written once from a finished local file
 * and never changed, so a reader never sees half an object.
 */
import type { Readable } from "node:stream";

/** An inclusive byte range, as HTTP Range requests name it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** The storage of uploaded files. Keys are ASCII paths (`u/12/ab12…`). */
export interface FileStorage {
  /** "local" or "s3", for logs. */
  readonly kind: string;
  /**
   * A directory for files being received before they are stored: on the
   * same file system as the local store, so storing them is a rename.
   */
  readonly stagingDir: string;
  /** Stores the finished file at `path` under `key`; `path` is consumed (moved or removed). */
  putFile(key: string, path: string, contentType: string): Promise<void>;
  /** The object's size in bytes. Rejects when the object is missing. */
  size(key: string): Promise<number>;
  /** The object's bytes, or `range` of them (within its size). Rejects when the object is missing. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Removes the object; a missing one is not an error. */
  delete(key: string): Promise<void>;
}

/**
 * Files on local disk under one directory (STORAGE_DIR). An object is
 * moved into place by rename from the staging directory inside it, so it
 * appears whole or not at all.
 */
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import type { ByteRange, FileStorage } from "./file-storage.js";

/** The local-disk store. */
export class LocalStorage implements FileStorage {
  readonly kind = "local";
  readonly stagingDir: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.stagingDir = join(this.root, ".staging");
  }

  async putFile(key: string, path: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(path, target);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
  }

  async size(key: string): Promise<number> {
    return (await stat(this.pathOf(key))).size;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const stream = createReadStream(this.pathOf(key), range);
    // Surface a missing file as a rejection, not as an error mid-response.
    await new Promise<void>((ok, fail) => {
      stream.once("open", () => ok());
      stream.once("error", fail);
    });
    return stream;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Keys are made by the server, but a key must never leave the root anyway. */
  private pathOf(key: string): string {
    const p = resolve(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new Error(`storage key outside the root: ${key}`);
    return p;
  }
}

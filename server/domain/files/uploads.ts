/**
 * The rules of uploads: announcing one within the limits (per file, per
 * user total, taken under the user's row lock), finishing it once its
 * bytes are stored, and who may read a stored file (its owner before it is
 * attached; afterwards whoever may read the message's room, until the
 * message is deleted). Everything else is NotFound, never a hint that the
 * file exists.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import type { FilesConfig } from "../../config.js";
import type { Clock } from "../../platform/clock.js";
import { chatError } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import { lockedUserBytes } from "../../store/sql/uploads.js";
import { txOptions } from "../../store/tx.js";
import { readableRoom } from "../access.js";
import { type UploadRow, uploadSelect } from "./upload-view.js";

/** The limits of uploads (FilesConfig's). */
export type UploadLimits = Pick<
  FilesConfig,
  "maxFileBytes" | "maxUserBytes" | "maxImagePixels" | "unattachedTtlMs"
>;

/** The error for an upload the caller may not see (or that does not exist). */
export function uploadNotFound(): ConnectError {
  return new ConnectError("upload not found", Code.NotFound);
}

/** A file name without path parts or control characters, at most 255 characters. */
export function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  const cut = Array.from(clean).slice(0, 255).join("");
  return cut === "" || cut === "." || cut === ".." ? "file" : cut;
}

/** Uploads of one server. */
export class Uploads {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    readonly limits: UploadLimits,
  ) {}

  /** Announces a file; returns the row and the caller's bytes in use, this one included. */
  async create(
    ownerId: bigint,
    req: { name: string; sizeBytes: bigint; declaredType: string },
  ): Promise<{ row: UploadRow; usedBytes: bigint }> {
    if (req.sizeBytes > BigInt(this.limits.maxFileBytes)) {
      throw chatError(
        Code.InvalidArgument,
        `the file is ${req.sizeBytes} bytes; at most ${this.limits.maxFileBytes} are accepted`,
        ErrorReason.UPLOAD_TOO_LARGE,
        { maxFileBytes: String(this.limits.maxFileBytes) },
      );
    }
    const now = this.clock.now();
    return this.prisma.$transaction(async (tx) => {
      const used = await lockedUserBytes(tx, ownerId);
      if (used + req.sizeBytes > BigInt(this.limits.maxUserBytes)) {
        throw chatError(
          Code.ResourceExhausted,
          `your files take ${used} of ${this.limits.maxUserBytes} bytes; this one does not fit (delete messages with files to make room)`,
          ErrorReason.UPLOAD_QUOTA_EXCEEDED,
          { maxUserBytes: String(this.limits.maxUserBytes), usedUserBytes: String(used) },
        );
      }
      const row = await tx.upload.create({
        data: {
          ownerId,
          name: cleanFileName(req.name),
          declaredType: req.declaredType,
          sizeBytes: req.sizeBytes,
          storageKey: "",
          createdAt: now,
          expiresAt: new Date(now.getTime() + this.limits.unattachedTtlMs),
        },
        select: uploadSelect,
      });
      return { row, usedBytes: used + req.sizeBytes };
    }, txOptions);
  }

  /** One of the owner's uploads; others' are NotFound. */
  async ownUpload(ownerId: bigint, id: bigint): Promise<UploadRow> {
    const row = await this.prisma.upload.findUnique({ where: { id }, select: uploadSelect });
    if (!row || row.ownerId !== ownerId) throw uploadNotFound();
    return row;
  }

  /**
   * Records the stored file of a PENDING upload. False when another PUT of
   * the same upload finished first: the caller removes what it stored.
   */
  async complete(
    id: bigint,
    stored: {
      storageKey: string;
      /** The stored size (a re-encoded image differs from the announced one). */
      sizeBytes: bigint;
      contentType: string;
      thumbKey: string | null;
      width: number | null;
      height: number | null;
      frames: number | null;
      placeholder: Uint8Array<ArrayBuffer> | null;
    },
  ): Promise<UploadRow | null> {
    const { count } = await this.prisma.upload.updateMany({
      where: { id, status: "PENDING" },
      data: { ...stored, status: "READY" },
    });
    if (count === 0) return null;
    return this.prisma.upload.findUnique({ where: { id }, select: uploadSelect });
  }

  /**
   * The stored file a caller may download, with its storage keys: the
   * owner's own unattached upload, or the file of a live message in a room
   * the caller may read. Anything else is NotFound.
   */
  async readable(
    userId: bigint,
    id: bigint,
  ): Promise<UploadRow & { storageKey: string; roomId: bigint | null }> {
    const row = await this.prisma.upload.findUnique({
      where: { id },
      select: { ...uploadSelect, storageKey: true, roomId: true },
    });
    if (row?.status !== "READY") throw uploadNotFound();
    if (row.messageId === null || row.roomId === null) {
      if (row.ownerId !== userId) throw uploadNotFound();
      return row;
    }
    const message = await this.prisma.message.findUnique({
      where: { id: row.messageId },
      select: { deletedAt: true },
    });
    if (!message || message.deletedAt !== null) throw uploadNotFound();
    try {
      await readableRoom(this.prisma, row.roomId, userId);
    } catch (err) {
      if (ConnectError.from(err).code === Code.NotFound) throw uploadNotFound();
      throw err;
    }
    return row;
  }
}

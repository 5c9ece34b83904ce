/**
 * Upload rows to the contract: the Upload its owner sees and the
 * Attachment every reader of a message sees. URLs are paths on the server
 * itself (rpc/files/), authorized per request.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attachment,
  AttachmentSchema,
  ImageInfoSchema,
  type Upload,
  UploadSchema,
  UploadState,
} from "../../../gen/chat/v1/upload_pb.js";
import type { Db } from "../../store/prisma.js";
import type { UploadRow } from "../../store/sql/uploads.js";

export type { UploadRow } from "../../store/sql/uploads.js";

/** The upload columns a view needs, for Prisma's `select`. */
export const uploadSelect = {
  id: true,
  ownerId: true,
  status: true,
  name: true,
  sizeBytes: true,
  contentType: true,
  width: true,
  height: true,
  frames: true,
  thumbKey: true,
  placeholder: true,
  messageId: true,
  createdAt: true,
  expiresAt: true,
} as const;

/** Where the bytes of an upload are sent (`PUT`). */
export function uploadPath(id: bigint): string {
  return `/uploads/${id}`;
}

/** Where a file is downloaded (`GET`). */
export function filePath(id: bigint): string {
  return `/files/${id}`;
}

/** Where an image's thumbnail is downloaded (`GET`). */
export function thumbnailPath(id: bigint): string {
  return `/files/${id}/thumbnail`;
}

/** The attachment view of a READY upload. */
export function toAttachment(row: UploadRow): Attachment {
  const image =
    row.width !== null && row.height !== null
      ? create(ImageInfoSchema, {
          width: row.width,
          height: row.height,
          frames: row.frames ?? 1,
          thumbnailUrl: row.thumbKey ? thumbnailPath(row.id) : "",
          placeholder: row.placeholder ?? new Uint8Array(),
        })
      : undefined;
  return create(AttachmentSchema, {
    id: row.id,
    name: row.name,
    contentType: row.contentType ?? "application/octet-stream",
    sizeBytes: row.sizeBytes,
    url: filePath(row.id),
    image,
  });
}

/** The owner's view of an upload. */
export function toUpload(row: UploadRow): Upload {
  const ready = row.status === "READY";
  return create(UploadSchema, {
    id: row.id,
    state: ready ? UploadState.READY : UploadState.PENDING,
    uploadUrl: ready ? "" : uploadPath(row.id),
    sizeBytes: row.sizeBytes,
    attachment: ready ? toAttachment(row) : undefined,
    expireTime: row.messageId === null ? timestampFromDate(row.expiresAt) : undefined,
    messageId: row.messageId ?? 0n,
  });
}

/** Attachments of messages, each list in the order they were given. One query. */
export async function loadAttachments(
  db: Db,
  messageIds: readonly bigint[],
): Promise<Map<bigint, Attachment[]>> {
  const out = new Map<bigint, Attachment[]>();
  if (messageIds.length === 0) return out;
  const rows = await db.upload.findMany({
    where: { messageId: { in: [...messageIds] } },
    select: uploadSelect,
    orderBy: [{ messageId: "asc" }, { position: "asc" }],
  });
  for (const r of rows) {
    if (r.messageId === null) continue;
    const list = out.get(r.messageId);
    const a = toAttachment(r);
    if (list) list.push(a);
    else out.set(r.messageId, [a]);
  }
  return out;
}

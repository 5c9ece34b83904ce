/**
 * The SQL of uploads (domain/files/): the per-user total taken under the
 * user's row lock, so two concurrent CreateUpload calls cannot both fit in
 * the last bytes of a quota; and the attaching reads and writes of a send
 * batch (one statement each, like the rest of store/sql/send.ts).
 */
import type { Db } from "../prisma.js";
import { placeholders, type Row, type Stmt } from "../tx.js";

/**
 * Locks the user's row and returns the bytes of their uploads (announced,
 * unattached and attached). Call inside a transaction; the lock holds
 * until it ends.
 */
export async function lockedUserBytes(tx: Db, userId: bigint): Promise<bigint> {
  await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`;
  const rows = await tx.$queryRaw<{ n: bigint | number | null }[]>`
    SELECT COALESCE(SUM(size_bytes), 0) AS n FROM uploads WHERE owner_id = ${userId}`;
  return BigInt(rows[0]?.n ?? 0);
}

/** The upload columns views and checks need (Prisma's names). */
export interface UploadRow {
  id: bigint;
  ownerId: bigint;
  status: "PENDING" | "READY";
  name: string;
  sizeBytes: bigint;
  contentType: string | null;
  width: number | null;
  height: number | null;
  frames: number | null;
  thumbKey: string | null;
  placeholder: Uint8Array | null;
  messageId: bigint | null;
  createdAt: Date;
  expiresAt: Date;
}

const uploadColumns = `id, owner_id AS ownerId, status, name, size_bytes AS sizeBytes,
  content_type AS contentType, width, height, frames, thumb_key AS thumbKey, placeholder,
  message_id AS messageId, created_at AS createdAt, expires_at AS expiresAt`;

/** Locks and reads the uploads a batch attaches (ascending ids: no deadlock between batches). */
export function lockUploads(ids: readonly bigint[]): Stmt {
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    sql: `SELECT ${uploadColumns} FROM uploads
          WHERE id IN ${placeholders(1, sorted.length)} ORDER BY id FOR UPDATE`,
    params: sorted,
  };
}

const bigOrNull = (v: unknown) => (v === null || v === undefined ? null : BigInt(v as bigint));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Rows of {@link lockUploads}. */
export function toUploadRow(r: Row): UploadRow {
  return {
    id: BigInt(r.id as bigint),
    ownerId: BigInt(r.ownerId as bigint),
    status: r.status === "READY" ? "READY" : "PENDING",
    name: String(r.name),
    sizeBytes: BigInt(r.sizeBytes as bigint),
    contentType: r.contentType === null ? null : String(r.contentType),
    width: numOrNull(r.width),
    height: numOrNull(r.height),
    frames: numOrNull(r.frames),
    thumbKey: r.thumbKey === null ? null : String(r.thumbKey),
    placeholder: (r.placeholder ?? null) as Uint8Array | null,
    messageId: bigOrNull(r.messageId),
    createdAt: r.createdAt as Date,
    expiresAt: r.expiresAt as Date,
  };
}

/** Attaches uploads to their messages in one statement. */
export function attachUploads(
  rows: readonly { uploadId: bigint; messageId: bigint; roomId: bigint; position: number }[],
): Stmt {
  const cases = (n: number) => Array.from({ length: n }, () => "WHEN ? THEN ?").join(" ");
  return {
    sql: `UPDATE uploads SET
            message_id = CASE id ${cases(rows.length)} END,
            room_id = CASE id ${cases(rows.length)} END,
            position = CASE id ${cases(rows.length)} END
          WHERE id IN ${placeholders(1, rows.length)}`,
    params: [
      ...rows.flatMap((r) => [r.uploadId, r.messageId]),
      ...rows.flatMap((r) => [r.uploadId, r.roomId]),
      ...rows.flatMap((r) => [r.uploadId, r.position]),
      ...rows.map((r) => r.uploadId),
    ],
  };
}

/** Uploads owed a removal: never attached past their expiry, or of a deleted message. */
export async function uploadsToRemove(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ id: bigint; storageKey: string; thumbKey: string | null }[]> {
  return db.$queryRaw`
    (SELECT id, storage_key AS storageKey, thumb_key AS thumbKey FROM uploads
      WHERE message_id IS NULL AND expires_at < ${now} LIMIT ${limit})
    UNION ALL
    (SELECT u.id, u.storage_key AS storageKey, u.thumb_key AS thumbKey FROM uploads u
      JOIN messages m ON m.id = u.message_id
      WHERE m.deleted_at IS NOT NULL LIMIT ${limit})`;
}

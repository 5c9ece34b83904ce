/**
 * Removes files nobody may read any more: uploads never attached to a
 * message past their expiry (UPLOAD_TTL_SECONDS), and the files of deleted
 * messages (removed on the next sweep after the delete, within
 * `tuning.files.sweepMs`). The object goes first, then the row: a sweep cut
 * short leaves a row whose removal is still owed, never an object without
 * one. Several instances may sweep at once; removing twice is harmless.
 */
import type { Logger } from "pino";
import { tuning } from "../../config.js";
import type { Clock } from "../../platform/clock.js";
import type { FileStorage } from "../../platform/storage/file-storage.js";
import type { PrismaClient } from "../../store/prisma.js";
import { uploadsToRemove } from "../../store/sql/uploads.js";

/** The periodic sweep of one server. */
export class FileSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly storage: FileStorage,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Sweeps every `tuning.files.sweepMs` until {@link stop}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.logger.warn({ err }, "file sweep failed"));
    }, tuning.files.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sweep (joins one in progress); resolves with the number of uploads removed. */
  sweep(): Promise<number> {
    this.running ??= this.sweepAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepAll(): Promise<number> {
    let removed = 0;
    for (;;) {
      const rows = await uploadsToRemove(this.prisma, this.clock.now(), tuning.files.sweepBatch);
      if (rows.length === 0) return removed;
      for (const r of rows) {
        if (r.storageKey !== "") await this.storage.delete(r.storageKey);
        if (r.thumbKey) await this.storage.delete(r.thumbKey);
      }
      await this.prisma.upload.deleteMany({ where: { id: { in: rows.map((r) => BigInt(r.id)) } } });
      removed += rows.length;
      if (rows.length < tuning.files.sweepBatch) return removed;
    }
  }
}

-- AlterTable
ALTER TABLE `rooms` ADD COLUMN `slow_mode_seconds` INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE `memberships` ADD COLUMN `last_sent_at` DATETIME(3) NULL;

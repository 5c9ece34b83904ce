-- issue 17: receipts, search, pins.

-- Receipts: the privacy setting (receipts themselves are the read markers).
ALTER TABLE `users` ADD COLUMN `hide_read_receipts` BOOLEAN NOT NULL DEFAULT false;

-- Search: the application writes each text message's search tokens
-- (server/domain/search/search-tokens.ts); plain InnoDB FULLTEXT, no plugin,
-- no server option, the same on MariaDB and MySQL 8 (docs/search.md).
-- ASCII with a binary collation: tokens are [a-z0-9_] and compared exactly.
ALTER TABLE `messages` ADD COLUMN `search_tokens` MEDIUMTEXT CHARACTER SET ascii COLLATE ascii_bin NULL;

-- CreateIndex
CREATE FULLTEXT INDEX `messages_search_tokens_idx` ON `messages`(`search_tokens`);

-- Pins: who may pin, and the pins.
ALTER TABLE `rooms` ADD COLUMN `members_can_pin` BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE `pins` (
    `message_id` BIGINT NOT NULL,
    `room_id` BIGINT NOT NULL,
    `pinned_by_id` BIGINT NOT NULL,
    `pinned_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `pins_room_id_pinned_at_idx`(`room_id`, `pinned_at`),
    PRIMARY KEY (`message_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `pins` ADD CONSTRAINT `pins_message_id_fkey` FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

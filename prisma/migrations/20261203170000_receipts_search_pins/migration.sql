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

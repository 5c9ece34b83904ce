-- AlterTable
ALTER TABLE `users` ADD COLUMN `disabled_at` DATETIME(3) NULL,
    ADD COLUMN `bot` BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE `api_keys` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `name` VARCHAR(64) NOT NULL,
    `key_hash` BINARY(32) NOT NULL,
    `scope` ENUM('READ_ONLY', 'FULL') NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `last_used_at` DATETIME(3) NULL,
    `revoked_at` DATETIME(3) NULL,

    UNIQUE INDEX `api_keys_key_hash_key`(`key_hash`),
    INDEX `api_keys_name_idx`(`name`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `admin_audit` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `key_id` BIGINT NULL,
    `key_name` VARCHAR(64) NOT NULL DEFAULT '',
    `method` VARCHAR(64) NOT NULL,
    `target` VARCHAR(255) NOT NULL DEFAULT '',
    `result` VARCHAR(32) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `webhook_endpoints` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `url` VARCHAR(2048) NOT NULL,
    `secret` VARCHAR(128) NOT NULL,
    `kinds` VARCHAR(64) NOT NULL DEFAULT '',
    `batch_size` INTEGER NOT NULL DEFAULT 100,
    `paused` BOOLEAN NOT NULL DEFAULT false,
    `failures` INTEGER NOT NULL DEFAULT 0,
    `last_error` VARCHAR(1000) NOT NULL DEFAULT '',
    `last_error_at` DATETIME(3) NULL,
    `next_attempt_at` DATETIME(3) NULL,
    `lease_owner` VARCHAR(100) NOT NULL DEFAULT '',
    `lease_until` DATETIME(3) NULL,
    `delivered` BIGINT NOT NULL DEFAULT 0,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `webhook_cursors` (
    `endpoint_id` BIGINT NOT NULL,
    `room_id` BIGINT NOT NULL,
    `last_seq` BIGINT NOT NULL,
    `pending_up_to` BIGINT NOT NULL DEFAULT 0,

    PRIMARY KEY (`endpoint_id`, `room_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `webhook_cursors` ADD CONSTRAINT `webhook_cursors_endpoint_id_fkey` FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

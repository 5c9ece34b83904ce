-- Issue 16: uploads and attachments; threads.

-- CreateTable
CREATE TABLE `uploads` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `owner_id` BIGINT NOT NULL,
    `status` ENUM('PENDING', 'READY') NOT NULL DEFAULT 'PENDING',
    `name` VARCHAR(255) NOT NULL,
    `declared_type` VARCHAR(255) NOT NULL,
    `size_bytes` BIGINT NOT NULL,
    `content_type` VARCHAR(255) NULL,
    `storage_key` VARCHAR(255) NOT NULL,
    `width` INTEGER NULL,
    `height` INTEGER NULL,
    `frames` INTEGER NULL,
    `thumb_key` VARCHAR(255) NULL,
    `placeholder` BLOB NULL,
    `message_id` BIGINT NULL,
    `room_id` BIGINT NULL,
    `position` INTEGER NOT NULL DEFAULT 0,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `expires_at` DATETIME(3) NOT NULL,

    INDEX `uploads_owner_id_idx`(`owner_id`),
    INDEX `uploads_message_id_idx`(`message_id`),
    INDEX `uploads_expires_at_idx`(`expires_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AlterTable
ALTER TABLE `messages` ADD COLUMN `thread_root_id` BIGINT NULL;

-- CreateIndex
CREATE INDEX `messages_thread_root_id_seq_idx` ON `messages`(`thread_root_id`, `seq`);

-- CreateTable
CREATE TABLE `thread_follows` (
    `root_id` BIGINT NOT NULL,
    `user_id` BIGINT NOT NULL,
    `room_id` BIGINT NOT NULL,
    `following` BOOLEAN NOT NULL DEFAULT true,
    `last_read_seq` BIGINT NOT NULL DEFAULT 0,
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `thread_follows_user_id_following_idx`(`user_id`, `following`),
    PRIMARY KEY (`root_id`, `user_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

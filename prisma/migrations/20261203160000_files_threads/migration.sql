-- Issue 16: uploads and attachments.

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

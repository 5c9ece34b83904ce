-- CreateTable
CREATE TABLE `user_blocks` (
    `blocker_id` BIGINT NOT NULL,
    `blocked_id` BIGINT NOT NULL,
    `created_at` DATETIME(3) NOT NULL,

    INDEX `user_blocks_blocked_id_idx`(`blocked_id`),
    PRIMARY KEY (`blocker_id`, `blocked_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `reports` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `room_id` BIGINT NOT NULL,
    `reporter_id` BIGINT NOT NULL,
    `message_id` BIGINT NULL,
    `message_seq` BIGINT NULL,
    `user_id` BIGINT NOT NULL,
    `reason` ENUM('SPAM', 'HARASSMENT', 'HATE', 'SEXUAL', 'VIOLENCE', 'OTHER') NOT NULL,
    `text` VARCHAR(1000) NOT NULL DEFAULT '',
    `message_text` TEXT NOT NULL,
    `state` ENUM('OPEN', 'RESOLVED') NOT NULL DEFAULT 'OPEN',
    `open_key` VARCHAR(64) NULL,
    `created_at` DATETIME(3) NOT NULL,
    `resolved_by_id` BIGINT NULL,
    `resolved_at` DATETIME(3) NULL,
    `action` ENUM('DISMISS', 'DELETE_MESSAGE', 'MUTE', 'KICK', 'BAN') NULL,
    `mute_seconds` INTEGER NULL,

    INDEX `reports_room_id_state_id_idx`(`room_id`, `state`, `id`),
    UNIQUE INDEX `reports_reporter_id_open_key_key`(`reporter_id`, `open_key`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

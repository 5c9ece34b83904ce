-- CreateTable
CREATE TABLE `rooms` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `kind` ENUM('CHANNEL', 'DIRECT', 'GROUP_DIRECT') NOT NULL,
    `visibility` ENUM('PUBLIC', 'PRIVATE') NOT NULL,
    `name` VARCHAR(80) NOT NULL DEFAULT '',
    `description` VARCHAR(1000) NOT NULL DEFAULT '',
    `creator_id` BIGINT NOT NULL,
    `last_seq` BIGINT NOT NULL DEFAULT 0,
    `member_count` INTEGER NOT NULL DEFAULT 0,
    `direct_key` VARCHAR(64) NULL,
    `last_message_id` BIGINT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `archived_at` DATETIME(3) NULL,
    `last_activity_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `rooms_direct_key_key`(`direct_key`),
    INDEX `rooms_visibility_archived_at_name_idx`(`visibility`, `archived_at`, `name`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `memberships` (
    `room_id` BIGINT NOT NULL,
    `user_id` BIGINT NOT NULL,
    `role` ENUM('MEMBER', 'ADMIN', 'OWNER') NOT NULL DEFAULT 'MEMBER',
    `state` ENUM('JOINED', 'LEFT', 'KICKED', 'BANNED') NOT NULL DEFAULT 'JOINED',
    `last_read_seq` BIGINT NOT NULL DEFAULT 0,
    `joined_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `joined_seq` BIGINT NOT NULL DEFAULT 0,
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `memberships_user_id_state_idx`(`user_id`, `state`),
    INDEX `memberships_room_id_state_joined_at_idx`(`room_id`, `state`, `joined_at`),
    PRIMARY KEY (`room_id`, `user_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `messages` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `room_id` BIGINT NOT NULL,
    `seq` BIGINT NOT NULL,
    `sender_id` BIGINT NULL,
    `client_msg_id` VARCHAR(64) NULL,
    `kind` ENUM('TEXT', 'SYSTEM', 'CUSTOM') NOT NULL,
    `text` TEXT NOT NULL,
    `payload` BLOB NULL,
    `reply_to_id` BIGINT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `edited_at` DATETIME(3) NULL,
    `deleted_at` DATETIME(3) NULL,
    `deleted_by_id` BIGINT NULL,

    UNIQUE INDEX `messages_room_id_seq_key`(`room_id`, `seq`),
    UNIQUE INDEX `messages_room_id_sender_id_client_msg_id_key`(`room_id`, `sender_id`, `client_msg_id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `reactions` (
    `message_id` BIGINT NOT NULL,
    `user_id` BIGINT NOT NULL,
    `emoji` VARBINARY(128) NOT NULL,
    `room_id` BIGINT NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `reactions_message_id_emoji_idx`(`message_id`, `emoji`),
    PRIMARY KEY (`message_id`, `user_id`, `emoji`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `mentions` (
    `message_id` BIGINT NOT NULL,
    `user_id` BIGINT NOT NULL,
    `room_id` BIGINT NOT NULL,
    `seq` BIGINT NOT NULL,

    INDEX `mentions_user_id_room_id_seq_idx`(`user_id`, `room_id`, `seq`),
    PRIMARY KEY (`message_id`, `user_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `room_events` (
    `room_id` BIGINT NOT NULL,
    `seq` BIGINT NOT NULL,
    `type` VARCHAR(32) NOT NULL,
    `actor_id` BIGINT NULL,
    `payload` MEDIUMBLOB NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`room_id`, `seq`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `memberships` ADD CONSTRAINT `memberships_room_id_fkey` FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `memberships` ADD CONSTRAINT `memberships_user_id_fkey` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `messages` ADD CONSTRAINT `messages_room_id_fkey` FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `reactions` ADD CONSTRAINT `reactions_message_id_fkey` FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `mentions` ADD CONSTRAINT `mentions_message_id_fkey` FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `room_events` ADD CONSTRAINT `room_events_room_id_fkey` FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

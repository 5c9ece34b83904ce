-- AlterTable
ALTER TABLE `rooms` ADD COLUMN `slow_mode_seconds` INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE `memberships` ADD COLUMN `last_sent_at` DATETIME(3) NULL;

-- AlterTable
ALTER TABLE `users` ADD COLUMN `who_may_add` ENUM('ANYONE', 'SHARED_ROOM', 'NOBODY') NULL;

-- CreateTable
CREATE TABLE `invitations` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `room_id` BIGINT NOT NULL,
    `inviter_id` BIGINT NOT NULL,
    `invitee_id` BIGINT NOT NULL,
    `state` ENUM('PENDING', 'ACCEPTED', 'DECLINED') NOT NULL DEFAULT 'PENDING',
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `decided_at` DATETIME(3) NULL,

    INDEX `invitations_invitee_id_state_created_at_idx`(`invitee_id`, `state`, `created_at`),
    UNIQUE INDEX `invitations_room_id_invitee_id_key`(`room_id`, `invitee_id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AlterTable
ALTER TABLE `memberships` ADD COLUMN `muted_until` DATETIME(3) NULL;

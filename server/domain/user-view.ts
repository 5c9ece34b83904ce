/** Conversions from database rows to contract messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type User, UserSchema } from "../../gen/chat/v1/user_pb.js";

/** The columns of a user row that the public view needs. */
export const userSelect = {
  id: true,
  username: true,
  displayName: true,
  avatarUrl: true,
  createdAt: true,
  updatedAt: true,
  bot: true,
} as const;

/** A user row selected with {@link userSelect}. */
export interface UserRow {
  id: bigint;
  username: string;
  displayName: string;
  avatarUrl: string;
  createdAt: Date;
  updatedAt: Date;
  /** Absent in rows read without it (raw SQL): not a bot. */
  bot?: boolean;
}

/** The public view of an account. */
export function toUser(row: UserRow): User {
  return create(UserSchema, {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    avatarUrl: row.avatarUrl,
    createTime: timestampFromDate(row.createdAt),
    updateTime: timestampFromDate(row.updatedAt),
    bot: row.bot ?? false,
  });
}

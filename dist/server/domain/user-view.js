/** Conversions from database rows to contract messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { UserSchema } from "../../gen/chat/v1/user_pb.js";
/** The columns of a user row that the public view needs. */
export const userSelect = {
    id: true,
    username: true,
    displayName: true,
    avatarUrl: true,
    createdAt: true,
    updatedAt: true,
};
/** The public view of an account. */
export function toUser(row) {
    return create(UserSchema, {
        id: row.id,
        username: row.username,
        displayName: row.displayName,
        avatarUrl: row.avatarUrl,
        createTime: timestampFromDate(row.createdAt),
        updateTime: timestampFromDate(row.updatedAt),
    });
}
//# sourceMappingURL=user-view.js.map
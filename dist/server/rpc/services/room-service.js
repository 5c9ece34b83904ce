import { directMethods } from "./rooms/directs.js";
import { listMethods } from "./rooms/lists.js";
import { memberMethods } from "./rooms/members.js";
import { moderationMethods } from "./rooms/moderation.js";
import { roomMethods } from "./rooms/rooms.js";
/** Creates the RoomService implementation from its parts (rooms/). */
export function createRoomService(deps) {
    return {
        ...roomMethods(deps),
        ...listMethods(deps),
        ...memberMethods(deps),
        ...moderationMethods(deps),
        ...directMethods(deps),
    };
}
//# sourceMappingURL=room-service.js.map
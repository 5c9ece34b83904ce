import { AuthService, file_chat_v1_auth } from "../../gen/chat/v1/auth_pb.js";
import { file_chat_v1_errors } from "../../gen/chat/v1/errors_pb.js";
import { file_chat_v1_event } from "../../gen/chat/v1/event_pb.js";
import { FeedService, file_chat_v1_feed } from "../../gen/chat/v1/feed_pb.js";
import { file_chat_v1_message, MessageService } from "../../gen/chat/v1/message_pb.js";
import { file_chat_v1_room, RoomService } from "../../gen/chat/v1/room_pb.js";
import { file_chat_v1_user, UserService } from "../../gen/chat/v1/user_pb.js";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import { registerHealth } from "./grpc/health.js";
import { registerReflection } from "./grpc/reflection.js";
import { createAuthService } from "./services/auth-service.js";
import { createFeedService } from "./services/feed-service.js";
import { createMessageService } from "./services/message-service.js";
import { createRoomService } from "./services/room-service.js";
import { createUserService } from "./services/user-service.js";
/** Files of the public contract, served by reflection. */
export const contractFiles = [
    file_chat_v1_auth,
    file_chat_v1_user,
    file_chat_v1_room,
    file_chat_v1_message,
    file_chat_v1_event,
    file_chat_v1_feed,
    file_chat_v1_errors,
    file_google_rpc_error_details,
];
/** Full names of our services, as reported by health and reflection. */
export const serviceNames = [
    AuthService.typeName,
    UserService.typeName,
    RoomService.typeName,
    MessageService.typeName,
    FeedService.typeName,
];
/** Registers every service on a router. */
export function createRoutes(deps) {
    return (router) => {
        router.service(AuthService, createAuthService(deps));
        router.service(UserService, createUserService(deps));
        router.service(RoomService, createRoomService(deps));
        const messages = createMessageService(deps);
        router.service(MessageService, messages);
        router.service(FeedService, createFeedService({ ...deps, messages }));
        registerHealth(router, deps.health, {
            services: [...serviceNames],
            shutdownSignal: deps.shutdownSignal,
        });
        registerReflection(router, contractFiles);
    };
}
//# sourceMappingURL=routes.js.map
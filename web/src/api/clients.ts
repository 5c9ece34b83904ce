/** Generated clients of every service on one transport. */
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { AuthService } from "../../../gen/chat/v1/auth_pb.js";
import { FeedService } from "../../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../../gen/chat/v1/message_pb.js";
import { RoomService } from "../../../gen/chat/v1/room_pb.js";
import { UserService } from "../../../gen/chat/v1/user_pb.js";

export interface Clients {
  auth: Client<typeof AuthService>;
  users: Client<typeof UserService>;
  rooms: Client<typeof RoomService>;
  messages: Client<typeof MessageService>;
  feed: Client<typeof FeedService>;
}

export function createClients(transport: Transport): Clients {
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UserService, transport),
    rooms: createClient(RoomService, transport),
    messages: createClient(MessageService, transport),
    feed: createClient(FeedService, transport),
  };
}

/**
 * The test user factory: a new account signed in on a transport, with
 * clients of every service that send its token; and the rooms and messages
 * tests make with them.
 */
import { randomBytes } from "node:crypto";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { FeedService } from "../../gen/chat/v1/feed_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import { type User, UserService } from "../../gen/chat/v1/user_pb.js";
import { authed } from "./clients.js";

/** The password of every test user. */
export const testPassword = "correct horse battery";

let counter = 0;

/** A unique, valid username. */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${randomBytes(3).toString("hex")}${counter}`;
}

/**
 * Registers and logs in an account: the bare step under {@link newUser},
 * for callers that want only the token.
 */
export async function signUp(
  transport: Transport,
  username = uniqueName(),
  password = testPassword,
): Promise<{ token: string; user: User; username: string; password: string }> {
  const auth = createClient(AuthService, transport);
  await auth.register({ username, password });
  const res = await auth.login({ username, password });
  if (!res.user) throw new Error("login returned no user");
  return { token: res.accessToken, user: res.user, username, password };
}

/** Clients of one user's token on one transport. */
export interface UserClients {
  rooms: Client<typeof RoomService>;
  msgs: Client<typeof MessageService>;
  feed: Client<typeof FeedService>;
  users: Client<typeof UserService>;
}

/** A signed-in test user with clients on the transport it signed up on. */
export interface TestUser extends UserClients {
  id: bigint;
  /** The account as Login returned it. */
  user: User;
  username: string;
  password: string;
  token: string;
  /** Clients of the same user (same token) on another transport (instance). */
  on(transport: Transport): UserClients;
}

/** Signs up a new user (a unique name starting with `prefix`) on `transport`. */
export async function newUser(transport: Transport, prefix = "user"): Promise<TestUser> {
  const account = await signUp(transport, uniqueName(prefix));
  const on = (t: Transport): UserClients => ({
    rooms: authed(RoomService, t, account.token),
    msgs: authed(MessageService, t, account.token),
    feed: authed(FeedService, t, account.token),
    users: authed(UserService, t, account.token),
  });
  return { ...account, id: account.user.id, ...on(transport), on };
}

/** Creates a room (named `<prefix> <random>`) owned by `owner` with `members`; returns its id. */
export async function newRoom(
  owner: TestUser,
  members: readonly TestUser[] = [],
  visibility = Visibility.PUBLIC,
  prefix = "room",
): Promise<bigint> {
  const res = await owner.rooms.createRoom({
    name: `${prefix} ${Math.random().toString(36).slice(2, 8)}`,
    visibility,
    memberIds: members.map((m) => m.id),
  });
  if (!res.room) throw new Error("createRoom returned no room");
  return res.room.id;
}

let msgCounter = 0;

/** Sends a text message with a fresh client id; returns its seq. */
export async function send(user: TestUser, roomId: bigint, text: string): Promise<bigint> {
  msgCounter += 1;
  const res = await user.msgs.sendMessage({
    roomId,
    text,
    clientMsgId: `m${msgCounter}_${Date.now()}`,
  });
  return res.message?.seq ?? 0n;
}

/** Alice, Bob and a room of Alice's that Bob is in: signed up on `transport`. */
export async function roomOfTwo(
  transport: Transport,
  prefix = "user",
): Promise<{ alice: TestUser; bob: TestUser; room: bigint }> {
  const alice = await newUser(transport, prefix);
  const bob = await newUser(transport, prefix);
  return { alice, bob, room: await newRoom(alice, [bob]) };
}

/**
 * Setting up what a scenario needs through the public API, like any
 * client: accounts (Register + Login), rooms (CreateRoom) and members
 * (InviteMembers, 100 users per call). Nothing is written to the
 * database directly.
 */
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";

/** A signed-in account. */
export interface Account {
  username: string;
  userId: bigint;
  token: string;
}

/** Call options carrying a bearer token. */
export function auth(token: string, signal?: AbortSignal) {
  return { headers: { authorization: `Bearer ${token}` }, signal };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Registers and logs in `username`. */
export async function createAccount(
  client: Client<typeof AuthService>,
  username: string,
): Promise<Account> {
  const password = "scenario bench password";
  await client.register({ username, password });
  const res = await client.login({ username, password, deviceName: "bench" });
  if (!res.user) throw new Error("login returned no user");
  return { username, userId: res.user.id, token: res.accessToken };
}

/**
 * `count` accounts named `<prefix>_<i>` (usernames are at most 32
 * characters), `concurrency` at a time (password hashing is the cost).
 */
export function createAccounts(
  transport: Transport,
  prefix: string,
  count: number,
  concurrency = 4,
): Promise<Account[]> {
  const client = createClient(AuthService, transport);
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
  return mapLimit(names, concurrency, (name) => createAccount(client, name));
}

/** Creates a public room owned by `owner`; returns its id. */
export async function createRoom(
  transport: Transport,
  owner: Account,
  name: string,
): Promise<bigint> {
  const client = createClient(RoomService, transport);
  const res = await client.createRoom({ name, visibility: Visibility.PUBLIC }, auth(owner.token));
  const id = res.room?.id;
  if (!id) throw new Error("CreateRoom returned no room");
  return id;
}

/** Adds users to a room, 100 per InviteMembers call (one room event each). */
export async function addMembers(
  transport: Transport,
  owner: Account,
  roomId: bigint,
  userIds: bigint[],
): Promise<void> {
  const client = createClient(RoomService, transport);
  for (let i = 0; i < userIds.length; i += 100) {
    await client.inviteMembers({ roomId, userIds: userIds.slice(i, i + 100) }, auth(owner.token));
  }
}

/** The room's current last sequence. */
export async function roomHead(
  transport: Transport,
  account: Account,
  roomId: bigint,
): Promise<bigint> {
  const client = createClient(RoomService, transport);
  const res = await client.getRoom({ roomId }, auth(account.token));
  return res.room?.lastSeq ?? 0n;
}

/**
 * Which account each of `streams` streams uses: `perUser` streams per
 * account (the server's FEED_MAX_STREAMS_PER_USER is the upper bound),
 * consecutive streams on the same account.
 */
export function accountsNeeded(streams: number, perUser: number): number {
  return Math.ceil(streams / perUser);
}

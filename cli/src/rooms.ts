/**
 * Naming a room on the command line: its id (`42`), its name (`general` or
 * `#general`, among the caller's rooms), or `@username` for the direct
 * conversation with someone (opened if needed).
 */
import { type ChatClient, Code, ConnectError, type MyRoom, type Room } from "@protochat/sdk";

/** A room found, and how to show it. */
export interface FoundRoom {
  id: bigint;
  room: Room | undefined;
  title: string;
}

function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound);
}

/** The caller's room named by `ref` (see the file comment). */
export async function findRoom(client: ChatClient, ref: string, me: bigint): Promise<FoundRoom> {
  const trimmed = ref.trim();
  if (/^\d+$/.test(trimmed)) {
    const id = BigInt(trimmed);
    const mine = (await client.listMyRooms()).find((r) => r.room?.id === id);
    if (mine) return fromMyRoom(mine, me);
    // Not a member: public rooms can still be read.
    const res = await client.rooms.getRoom({ roomId: id });
    return { id, room: res.room, title: res.room?.name ? `#${res.room.name}` : `room ${id}` };
  }
  if (trimmed.startsWith("@")) {
    const username = trimmed.slice(1);
    const user = (await client.users.getUser({ lookup: { case: "username", value: username } }))
      .user;
    if (!user) throw notFound(`no user ${username}`);
    const res = await client.rooms.openDirect({ userId: user.id });
    const id = res.room?.id ?? 0n;
    return { id, room: res.room, title: `@${user.username}` };
  }
  const name = trimmed.replace(/^#/, "").toLowerCase();
  const matches = (await client.listMyRooms()).filter((r) => r.room?.name.toLowerCase() === name);
  if (matches.length === 0) {
    throw notFound(
      `you are in no room named "${name}" (public rooms: protochat join ${name}; or use the room id)`,
    );
  }
  if (matches.length > 1) {
    const ids = matches.map((m) => m.room?.id).join(", ");
    throw new ConnectError(
      `several rooms are named "${name}": use an id (${ids})`,
      Code.InvalidArgument,
    );
  }
  return fromMyRoom(matches[0] as MyRoom, me);
}

function fromMyRoom(r: MyRoom, me: bigint): FoundRoom {
  const id = r.room?.id ?? 0n;
  if (r.room?.name) return { id, room: r.room, title: `#${r.room.name}` };
  const peers = r.peers.filter((p) => p.id !== me).map((p) => `@${p.username}`);
  return { id, room: r.room, title: peers.join(", ") || `room ${id}` };
}

/** A public room by id or exact name (case-insensitive), for `join`. */
export async function findPublicRoom(client: ChatClient, ref: string): Promise<bigint> {
  const trimmed = ref.trim();
  if (/^\d+$/.test(trimmed)) return BigInt(trimmed);
  const name = trimmed.replace(/^#/, "").toLowerCase();
  let pageToken = "";
  do {
    const page = await client.rooms.listPublicRooms({ query: name, pageSize: 100, pageToken });
    const hit = page.rooms.find((r) => r.name.toLowerCase() === name);
    if (hit) return hit.id;
    pageToken = page.nextPageToken;
  } while (pageToken);
  throw notFound(`no public room named "${name}"`);
}

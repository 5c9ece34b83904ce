// ListPublicRooms, ListMyRooms and ListMembers: filters, order, the MyRoom
// extras, and keyset paging that covers every item exactly once.
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { MessageKind } from "../../gen/chat/v1/message_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

/** Calls `page` until the token runs out; returns items and page count. */
async function drain<T>(
  page: (token: string) => Promise<{ items: T[]; next: string }>,
  maxPages = 100,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let token = "";
  let pages = 0;
  do {
    const res = await page(token);
    items.push(...res.items);
    token = res.next;
    pages += 1;
  } while (token !== "" && pages < maxPages);
  return { items, pages };
}

let ann: TestUser;
let ben: TestUser;

beforeAll(async () => {
  [ann, ben] = await Promise.all([newUser(transport), newUser(transport)]);
});

describe("ListPublicRooms", () => {
  it("pages public, non-archived rooms by name then id, exactly once each", async () => {
    const tag = `pub${Date.now().toString(36)}`;
    // Duplicate and case-variant names exercise the (name, id) tie-break.
    const names = [
      `${tag} b`,
      `${tag} a`,
      `${tag} C`,
      `${tag} a`,
      `${tag} B`,
      `${tag} d`,
      `${tag} a`,
    ];
    const ids: bigint[] = [];
    for (const name of names) {
      const { room } = await ann.rooms.createRoom({ name, visibility: Visibility.PUBLIC });
      ids.push(room?.id ?? 0n);
    }
    await ann.rooms.createRoom({ name: `${tag} private`, visibility: Visibility.PRIVATE });
    const { room: gone } = await ann.rooms.createRoom({
      name: `${tag} gone`,
      visibility: Visibility.PUBLIC,
    });
    await ann.rooms.archiveRoom({ roomId: gone?.id ?? 0n });

    const { items, pages } = await drain(async (pageToken) => {
      const res = await ben.rooms.listPublicRooms({
        query: tag.toUpperCase(),
        pageSize: 2,
        pageToken,
      });
      expect(res.rooms.length).toBeLessThanOrEqual(2);
      return { items: res.rooms, next: res.nextPageToken };
    });
    expect(pages).toBe(4);
    const rows = names.map((name, i) => ({ name, id: ids[i] ?? 0n }));
    rows.sort((x, y) => {
      const a = x.name.toLowerCase();
      const b = y.name.toLowerCase();
      return a < b ? -1 : a > b ? 1 : x.id < y.id ? -1 : 1;
    });
    expect(items.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(new Set(items.map((r) => r.id)).size).toBe(names.length);
  });

  it("matches a substring case-insensitively and treats LIKE wildcards literally", async () => {
    const tag = `wc${Date.now().toString(36)}`;
    await ann.rooms.createRoom({ name: `Alpha ${tag} room`, visibility: Visibility.PUBLIC });
    await ann.rooms.createRoom({ name: `${tag}x_y`, visibility: Visibility.PUBLIC });
    await ann.rooms.createRoom({ name: `${tag}xzy`, visibility: Visibility.PUBLIC });
    await ann.rooms.createRoom({ name: `${tag} 100%`, visibility: Visibility.PUBLIC });
    const names = async (query: string) =>
      (await ben.rooms.listPublicRooms({ query, pageSize: 100 })).rooms.map((r) => r.name);
    expect(await names(`ALPHA ${tag.toUpperCase()}`)).toEqual([`Alpha ${tag} room`]);
    expect(await names(`${tag}x_y`)).toEqual([`${tag}x_y`]);
    expect(await names(`${tag}%`)).toEqual([]);
    expect(await names(`${tag} 100%`)).toEqual([`${tag} 100%`]);
    // Unescaped, `_` would match `${tag}x` and `${tag} `.
    expect(await names(`${tag}_`)).toEqual([]);
  });

  it("rejects forged page tokens and oversized pages", async () => {
    let err = await expectCode(
      ben.rooms.listPublicRooms({ pageToken: "bm90LWEtdG9rZW4" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["page_token"]);
    err = await expectCode(ben.rooms.listPublicRooms({ pageSize: 101 }), Code.InvalidArgument);
    expect(badFields(err)).toEqual(["page_size"]);
    // A token of another list is not a name cursor.
    const { room } = await ann.rooms.createRoom({ name: "tok", visibility: Visibility.PUBLIC });
    await ben.rooms.joinRoom({ roomId: room?.id ?? 0n });
    const members = await ben.rooms.listMembers({ roomId: room?.id ?? 0n, pageSize: 1 });
    expect(members.nextPageToken).not.toBe("");
    err = await expectCode(
      ben.rooms.listPublicRooms({ pageToken: members.nextPageToken }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["page_token"]);
  });
});

describe("ListMembers", () => {
  it("pages members by join order, exactly once each", async () => {
    const others = await Promise.all(Array.from({ length: 6 }, () => newUser(transport)));
    const { room } = await ann.rooms.createRoom({
      name: "crowd",
      visibility: Visibility.PUBLIC,
      memberIds: [others[0]?.id ?? 0n, others[1]?.id ?? 0n],
    });
    const roomId = room?.id ?? 0n;
    for (const p of others.slice(2)) await p.rooms.joinRoom({ roomId });
    await others[3]?.rooms.leaveRoom({ roomId });
    // Members added together share a join time: ordered by user id.
    const expected = [
      ann.id,
      ...[others[0]?.id ?? 0n, others[1]?.id ?? 0n].sort((a, b) => (a < b ? -1 : 1)),
      others[2]?.id,
      others[4]?.id,
      others[5]?.id,
    ];
    for (const pageSize of [1, 2, 4, 0]) {
      const { items, pages } = await drain(async (pageToken) => {
        const res = await ben.rooms.listMembers({ roomId, pageSize, pageToken });
        return { items: res.members, next: res.nextPageToken };
      });
      expect(items.map((m) => m.user?.id)).toEqual(expected);
      expect(pages).toBe(pageSize === 0 ? 1 : Math.ceil(expected.length / pageSize));
    }
    const first = await ben.rooms.listMembers({ roomId, pageSize: 1 });
    expect(first.members[0]?.role).toBe(MemberRole.OWNER);
  });
});

describe("ListMyRooms", () => {
  it("orders by latest activity, with role, unread and mention counts, preview and peers", async () => {
    const me = await newUser(transport);
    const pal = await newUser(transport);
    const third = await newUser(transport);
    const { room: quiet } = await me.rooms.createRoom({
      name: "quiet",
      visibility: Visibility.PRIVATE,
    });
    const { room: busy } = await pal.rooms.createRoom({
      name: "busy",
      visibility: Visibility.PUBLIC,
      memberIds: [me.id],
    });
    const dm = await me.rooms.openDirect({ userId: pal.id });
    const group = await third.rooms.createGroupDirect({ userIds: [me.id, pal.id] });
    const busyId = busy?.id ?? 0n;
    const dmId = dm.room?.id ?? 0n;
    await pal.msgs.sendMessage({ roomId: busyId, text: "one", clientMsgId: "b1" });
    await pal.msgs.sendMessage({
      roomId: busyId,
      text: `hey @${me.username}`,
      clientMsgId: "b2",
    });
    await me.msgs.sendMessage({ roomId: busyId, text: "mine", clientMsgId: "b3" });
    await pal.msgs.sendMessage({ roomId: dmId, text: "psst", clientMsgId: "d1" });

    const res = await me.rooms.listMyRooms({});
    expect(res.nextPageToken).toBe("");
    expect(res.rooms.map((r) => r.room?.id)).toEqual([dmId, busyId, group.room?.id, quiet?.id]);
    const [d, b, g, q] = res.rooms;
    expect([b?.role, b?.unreadCount, b?.mentionCount, b?.lastReadSeq]).toEqual([
      MemberRole.MEMBER,
      2,
      1,
      1n,
    ]);
    expect([b?.lastMessage?.text, b?.lastMessage?.kind, b?.lastMessage?.senderId]).toEqual([
      "mine",
      MessageKind.TEXT,
      me.id,
    ]);
    expect(b?.peers).toEqual([]);
    expect([d?.unreadCount, d?.lastMessage?.text, d?.role]).toEqual([1, "psst", MemberRole.MEMBER]);
    expect(d?.peers.map((u) => u.id)).toEqual([pal.id]);
    expect(g?.peers.map((u) => u.id).sort()).toEqual([third.id, pal.id].sort());
    expect([g?.role, g?.lastMessage, g?.unreadCount]).toEqual([MemberRole.MEMBER, undefined, 0]);
    expect([q?.role, q?.lastMessage, q?.unreadCount, q?.room?.lastSeq]).toEqual([
      MemberRole.OWNER,
      undefined,
      0,
      1n,
    ]);
    // Reading clears the counts.
    await me.msgs.markRead({ roomId: busyId, seq: b?.room?.lastSeq ?? 0n });
    const after = await me.rooms.listMyRooms({});
    expect(after.rooms.find((r) => r.room?.id === busyId)).toMatchObject({
      unreadCount: 0,
      mentionCount: 0,
    });
  });

  it("pages by (last activity, id) exactly once each, archived rooms only on request", async () => {
    const me = await newUser(transport);
    const ids: bigint[] = [];
    for (let i = 0; i < 7; i++) {
      const { room } = await me.rooms.createRoom({
        name: `mine ${i}`,
        visibility: Visibility.PRIVATE,
      });
      ids.push(room?.id ?? 0n);
    }
    // Rooms with the same activity time are ordered by id, newest first.
    const tie = new Date(Date.now() - 60_000);
    await env.prisma.room.updateMany({
      where: { id: { in: [ids[0] ?? 0n, ids[1] ?? 0n, ids[3] ?? 0n, ids[5] ?? 0n] } },
      data: { lastActivityAt: tie },
    });
    await me.rooms.updateRoom({ roomId: ids[2] ?? 0n, name: "bumped" });
    await me.rooms.archiveRoom({ roomId: ids[4] ?? 0n });
    const rows = await env.prisma.room.findMany({
      where: { id: { in: ids } },
      orderBy: [{ lastActivityAt: "desc" }, { id: "desc" }],
    });
    const order = rows.map((r) => r.id);
    expect(order[0]).toBe(ids[4]); // archived last, so most recent
    expect(order[1]).toBe(ids[2]);
    expect(order.slice(3)).toEqual([ids[5], ids[3], ids[1], ids[0]]);

    for (const includeArchived of [false, true]) {
      const expected = includeArchived ? order : order.filter((id) => id !== ids[4]);
      const { items, pages } = await drain(async (pageToken) => {
        const res = await me.rooms.listMyRooms({ pageSize: 2, pageToken, includeArchived });
        return { items: res.rooms, next: res.nextPageToken };
      });
      expect(items.map((r) => r.room?.id)).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 2));
    }
    const err = await expectCode(me.rooms.listMyRooms({ pageToken: "%%%" }), Code.InvalidArgument);
    expect(badFields(err)).toEqual(["page_token"]);
  });
});

/**
 * AdminService's operations on two instances sharing MySQL and Redis:
 * rooms created with owners and admins, listed with statistics, archived;
 * users listed, disabled (sessions revoked, feeds ended on every instance,
 * logins refused), enabled, logged out; any message deleted; history
 * exported page by page; broadcasts reaching every feed on both
 * instances; a priority event overtaking a queue of events; cluster
 * statistics of both instances.
 */
import { Code, createClient } from "@connectrpc/connect";
import { expect, describe as group, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { adminClient, newApiKey } from "../support/admin.js";
import { authed } from "../support/clients.js";
import { inMemoryInstance } from "../support/env.js";
import { badFields, expectCode, reasonOf } from "../support/errors.js";
import { type Ev, FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { eventually } from "../support/timing.js";
import { newRoom, newUser, send, testPassword } from "../support/users.js";

const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });

async function admin(on = a) {
  const { key } = await newApiKey(env.prisma, "ops");
  return adminClient(on, key);
}

/** The text of a broadcast in a message_created event, or undefined. */
function broadcastText(ev: Ev): string | undefined {
  if (ev.case !== "roomEvent" || ev.value.change.case !== "messageCreated") return undefined;
  const n = ev.value.change.value.message?.system?.notice;
  return n?.case === "broadcast" ? n.value.text : undefined;
}

group("rooms", () => {
  it("creates a room with owners, admins and members; lists it with statistics; archives it", async () => {
    const ops = await admin();
    const [o1, o2, ad, m] = await Promise.all([newUser(a), newUser(a), newUser(a), newUser(a)]);
    const created = await ops.createRoom({
      name: "support desk",
      visibility: Visibility.PRIVATE,
      ownerIds: [o1.id, o2.id],
      adminIds: [ad.id, o1.id],
      memberIds: [m.id],
    });
    const roomId = created.room?.id ?? 0n;
    expect(created.room?.memberCount).toBe(4);
    expect(created.room?.creatorId).toBe(o1.id);
    const members = await o1.rooms.listMembers({ roomId });
    const roles = new Map(members.members.map((x) => [x.user?.id, x.role]));
    expect(roles.get(o1.id)).toBe(MemberRole.OWNER);
    expect(roles.get(o2.id)).toBe(MemberRole.OWNER);
    expect(roles.get(ad.id)).toBe(MemberRole.ADMIN);
    expect(roles.get(m.id)).toBe(MemberRole.MEMBER);

    await send(m, roomId, "hello");
    const listed = await ops.listRooms({ query: "support desk" });
    const info = listed.rooms.find((r) => r.room?.id === roomId);
    expect(info?.messageCount).toBe(2n); // room_created and hello
    expect(info?.room?.lastSeq).toBe(2n);

    const unknown = await expectCode(
      ops.createRoom({ name: "x", visibility: Visibility.PUBLIC, ownerIds: [999_999n] }),
      Code.InvalidArgument,
    );
    expect(badFields(unknown)).toEqual(["owner_ids"]);
    await expectCode(
      ops.createRoom({ name: "x", visibility: Visibility.PUBLIC, ownerIds: [] }),
      Code.InvalidArgument,
    );

    const renamed = await ops.updateRoom({ roomId, name: "help desk", description: "ask here" });
    expect(renamed.room?.name).toBe("help desk");
    expect(renamed.room?.lastSeq).toBe(3n);
    const notices = await m.msgs.listMessages({ roomId, limit: 1 });
    const n = notices.messages[0]?.system?.notice;
    expect(n?.case === "roomRenamed" && n.value.newName).toBe("help desk");
    await expectCode(ops.updateRoom({ roomId, name: "  " }), Code.InvalidArgument);

    const archived = await ops.archiveRoom({ roomId });
    expect(archived.room?.archiveTime).toBeDefined();
    await expectCode(
      m.msgs.sendMessage({ roomId, text: "late", clientMsgId: "late1" }),
      Code.FailedPrecondition,
    );
  });
});

group("users", () => {
  it("disabling ends the user's feeds on every instance, refuses logins, and enabling lets them back", async () => {
    const ops = await admin();
    const carol = await newUser(a, "carol");
    const feedA = FeedReader.open(carol.feed);
    const feedB = FeedReader.open(carol.on(b).feed);
    await feedA.ready();
    await feedB.ready();

    const found = await ops.listUsers({ query: carol.username.slice(0, 8) });
    expect(found.users.some((u) => u.user?.id === carol.id)).toBe(true);

    const res = await ops.disableUser({ userId: carol.id });
    expect(res.user?.disabled).toBe(true);
    expect(res.revokedSessions).toBe(1);
    for (const feed of [feedA, feedB]) {
      const { error } = await feed.error();
      expect(error.code).toBe(Code.Unauthenticated);
    }
    await expectCode(carol.users.getMe({}), Code.Unauthenticated);
    const auth = createClient(AuthService, b);
    const refused = await expectCode(
      auth.login({ username: carol.username, password: testPassword }),
      Code.PermissionDenied,
    );
    expect(reasonOf(refused)).toBe("ACCOUNT_DISABLED");

    await ops.enableUser({ userId: carol.id });
    const back = await auth.login({ username: carol.username, password: testPassword });
    expect(back.accessToken).toMatch(/^ct_/);
    const out = await ops.logoutUser({ userId: carol.id });
    expect(out.revokedSessions).toBe(1);
    await expectCode(ops.disableUser({ userId: 987_654n }), Code.NotFound);
  });
});

group("bots", () => {
  it("are created with a long-lived token, marked as bots, and their token rotates", async () => {
    const ops = await admin();
    const name = `bot${Date.now().toString(36)}`;
    const created = await ops.createBot({ username: name, displayName: "Reminder bot" });
    expect(created.user?.bot).toBe(true);
    const years = Number(created.expireTime?.seconds ?? 0n) - Date.now() / 1000;
    expect(years / (365 * 24 * 3600)).toBeGreaterThan(9);
    const bot = authed(UserService, b, created.accessToken);
    expect((await bot.getMe({})).user?.bot).toBe(true);
    // Others see the flag too.
    const alice = await newUser(a);
    expect(
      (await alice.users.getUser({ lookup: { case: "id", value: created.user?.id ?? 0n } })).user
        ?.bot,
    ).toBe(true);
    expect((await alice.users.getMe({})).user?.bot).toBe(false);
    // No password logs it in.
    await expectCode(
      createClient(AuthService, a).login({ username: name, password: testPassword }),
      Code.Unauthenticated,
    );

    const rotated = await ops.rotateBotToken({ userId: created.user?.id ?? 0n });
    expect(rotated.revokedTokens).toBe(1);
    await expectCode(bot.getMe({}), Code.Unauthenticated);
    expect((await authed(UserService, a, rotated.accessToken).getMe({})).user?.username).toBe(name);
    await expectCode(ops.createBot({ username: name }), Code.AlreadyExists);
    await expectCode(ops.rotateBotToken({ userId: alice.id }), Code.NotFound);
  });
});

group("messages and history", () => {
  it("deletes any message; exports the history in pages by sequence", async () => {
    const ops = await admin();
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    for (let i = 1; i <= 7; i++) await send(alice, room, `m${i}`);
    const feed = FeedReader.open(bob.on(b).feed, { positions: [{ roomId: room, lastSeq: 8n }] });
    await feed.ready();
    const msg = await alice.msgs.listMessages({ roomId: room, limit: 1 });
    const last = msg.messages[0];
    const del = await ops.deleteMessage({ messageId: last?.id ?? 0n });
    expect(del.message?.deleted).toBe(true);
    const [ev] = await feed.take(1);
    expect(ev?.case === "roomEvent" && ev.value.change.case).toBe("messageDeleted");
    expect(ev?.case === "roomEvent" && ev.value.seq).toBe(del.seq);
    feed.close();

    const seqs: bigint[] = [];
    let after = 0n;
    for (let pages = 0; pages < 10; pages++) {
      const page = await ops.exportHistory({ roomId: room, afterSeq: after, pageSize: 3 });
      seqs.push(...page.events.map((e) => e.seq));
      after = page.nextAfterSeq;
      expect(page.headSeq).toBe(9n);
      if (page.done) break;
    }
    expect(seqs).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    const end = await ops.exportHistory({ roomId: room, afterSeq: 9n });
    expect(end.events).toHaveLength(0);
    expect(end.done).toBe(true);
    await expectCode(ops.exportHistory({ roomId: 424_242n }), Code.NotFound);
  });
});

group("broadcasts", () => {
  it("reach every feed on both instances: one room, some rooms, every room, one user", async () => {
    const ops = await admin(b);
    const alice = await newUser(a);
    const bob = await newUser(a);
    const loner = await newUser(a, "loner");
    const r1 = await newRoom(alice, [bob]);
    const r2 = await newRoom(alice);
    const feeds = [
      FeedReader.open(alice.feed),
      FeedReader.open(alice.on(b).feed),
      FeedReader.open(bob.on(b).feed),
    ];
    for (const f of feeds) await f.ready();

    await ops.broadcast({ text: "one room", target: { case: "roomId", value: r1 } });
    for (const f of feeds) {
      const evs = await f.until((e) => broadcastText(e) !== undefined);
      expect(broadcastText(evs[evs.length - 1] as Ev)).toBe("one room");
    }

    const some = await ops.broadcast({
      text: "two rooms",
      target: { case: "rooms", value: { roomIds: [r1, r2] } },
    });
    expect(some.rooms).toBe(2);
    for (const f of feeds.slice(0, 2)) {
      const got = new Set<bigint>();
      while (got.size < 2) {
        const evs = await f.until((e) => broadcastText(e) === "two rooms");
        const e = evs[evs.length - 1];
        if (e?.case === "roomEvent") got.add(e.value.roomId);
      }
    }

    const all = await ops.broadcast({
      text: "everyone",
      target: { case: "allRooms", value: true },
    });
    expect(all.rooms).toBeGreaterThanOrEqual(2);
    for (const f of feeds) await f.until((e) => broadcastText(e) === "everyone");

    // One user, sharing no room with anyone, on both instances.
    const lonerFeeds = [FeedReader.open(loner.feed), FeedReader.open(loner.on(b).feed)];
    for (const f of lonerFeeds) await f.ready();
    const sent = await ops.broadcast({
      text: "just you",
      target: { case: "userId", value: loner.id },
    });
    for (const f of lonerFeeds) {
      const [ev] = await f.take(1);
      expect(ev?.case).toBe("notice");
      expect(ev?.case === "notice" && ev.value.text).toBe("just you");
      expect(ev?.case === "notice" && ev.value.id).toBe(sent.noticeId);
    }
    for (const f of [...feeds, ...lonerFeeds]) f.close();

    await expectCode(
      ops.broadcast({ text: "nobody", target: { case: "userId", value: 31_337n } }),
      Code.NotFound,
    );
    await expectCode(
      ops.broadcast({ text: "x", target: { case: "rooms", value: { roomIds: [r1, 31_337n] } } }),
      Code.NotFound,
    );
  });
});

group("priority events", () => {
  it("overtake the events already queued in a feed, and follow again in sequence order", async () => {
    const ops = await admin();
    const slow = inMemoryInstance(env);
    const alice = await newUser(a);
    const bob = await newUser(a);
    const room = await newRoom(alice, [bob]);
    const stream = bob.on(slow.transport).feed.subscribe({ positions: [] });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.event?.event.case).toBe("ready");
    // Bob reads nothing more: 20 messages wait in his feed's queue.
    for (let i = 1; i <= 20; i++) await send(alice, room, `queued ${i}`);
    const session = () => [...slow.rpc.feed.sessions()].find((s) => s.userId === bob.id);
    await eventually(() => (session()?.queued ?? 0) >= 19, 10_000, "20 events queued");

    const red = await ops.sendPriorityEvent({
      roomId: room,
      type: "red-packet",
      body: { case: "json", value: '{"amount":88}' },
    });
    expect(red.message?.custom?.type).toBe("red-packet");
    const labels: string[] = [];
    while (labels.length < 22) {
      const r = await it.next();
      const ev = r.value?.event?.event;
      if (ev?.case === "priorityEvent") labels.push(`!${ev.value.seq}`);
      else if (ev?.case === "roomEvent") labels.push(`${ev.value.seq}`);
    }
    await it.return?.();
    // At most one frame was already taken by the stream before the priority one.
    expect(labels.indexOf(`!${red.seq}`)).toBeLessThanOrEqual(1);
    // The in-order copy comes after every event before it, at its own sequence.
    expect(labels.filter((l) => !l.startsWith("!"))).toEqual(
      Array.from({ length: 21 }, (_, i) => `${i + 2}`),
    );
    expect(red.seq).toBe(22n);
  });
});

group("statistics", () => {
  it("reports both instances and the cluster's sums", async () => {
    const ops = await admin();
    const dave = await newUser(a);
    const feed = FeedReader.open(dave.on(b).feed);
    await feed.ready();
    await eventually(
      async () => {
        const s = await ops.getStats({});
        return (
          s.instances.length >= 2 &&
          (s.cluster?.streamsByProtocol.connect ?? 0) >= 1 &&
          s.onlineUserIds.includes(dave.id)
        );
      },
      15_000,
      "stats with both instances and dave online",
    );
    feed.close();
  });
});

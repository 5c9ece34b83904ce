// Who may call which MessageService RPC: owner, admin, the author (a member),
// another member, a signed-in non-member and a banned user, in public and
// private rooms, plus archived rooms. A refused call writes nothing.
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();

const roles = ["owner", "admin", "author", "member", "outsider", "banned"] as const;
type Role = (typeof roles)[number];
type Outcome = "ok" | Code;

interface Fixture {
  roomId: bigint;
  users: Record<Role, TestUser>;
}

async function fixture(visibility: Visibility): Promise<Fixture> {
  const users = {} as Record<Role, TestUser>;
  for (const r of roles) users[r] = await newUser(transport);
  const members = [users.admin, users.author, users.member, users.banned];
  const roomId = await newRoom(users.owner, members, visibility);
  await users.owner.rooms.setMemberRole({ roomId, userId: users.admin.id, role: MemberRole.ADMIN });
  await users.owner.rooms.banMember({ roomId, userId: users.banned.id });
  return { roomId, users };
}

let k = 0;
const cid = () => `z-${++k}`;

/** A fresh message by the author, for calls that consume one. */
async function authorMessage(f: Fixture): Promise<bigint> {
  const res = await f.users.author.msgs.sendMessage({
    roomId: f.roomId,
    text: "target",
    clientMsgId: cid(),
  });
  return res.message?.id ?? 0n;
}

type Call = (u: TestUser, f: Fixture) => Promise<unknown>;

const calls: Record<string, Call> = {
  SendMessage: (u, f) => u.msgs.sendMessage({ roomId: f.roomId, text: "hi", clientMsgId: cid() }),
  SendCustomEvent: (u, f) =>
    u.msgs.sendCustomEvent({
      roomId: f.roomId,
      type: "t",
      body: { case: "json", value: "{}" },
      clientMsgId: cid(),
    }),
  EditMessage: async (u, f) =>
    u.msgs.editMessage({ messageId: await authorMessage(f), text: "new" }),
  DeleteMessage: async (u, f) => u.msgs.deleteMessage({ messageId: await authorMessage(f) }),
  AddReaction: async (u, f) =>
    u.msgs.addReaction({ messageId: await authorMessage(f), emoji: "👍" }),
  RemoveReaction: async (u, f) => {
    const messageId = await authorMessage(f);
    await f.users.member.msgs.addReaction({ messageId, emoji: "👍" });
    return u.msgs.removeReaction({ messageId, emoji: "👍" });
  },
  ListMessages: (u, f) => u.msgs.listMessages({ roomId: f.roomId }),
  GetMessage: async (u, f) => u.msgs.getMessage({ messageId: await authorMessage(f) }),
  MarkRead: (u, f) => u.msgs.markRead({ roomId: f.roomId, seq: 1n }),
};

const { PermissionDenied: PD, NotFound: NF } = Code;

/** Expected outcome per RPC, for owner, admin, author, member, outsider, banned. */
const publicMatrix: Record<string, Outcome[]> = {
  SendMessage: ["ok", "ok", "ok", "ok", PD, NF],
  SendCustomEvent: ["ok", "ok", PD, PD, PD, NF],
  EditMessage: [PD, PD, "ok", PD, PD, NF],
  DeleteMessage: ["ok", "ok", "ok", PD, PD, NF],
  AddReaction: ["ok", "ok", "ok", "ok", PD, NF],
  RemoveReaction: ["ok", "ok", "ok", "ok", PD, NF],
  ListMessages: ["ok", "ok", "ok", "ok", "ok", NF],
  GetMessage: ["ok", "ok", "ok", "ok", "ok", NF],
  MarkRead: ["ok", "ok", "ok", "ok", PD, NF],
};
/** In private rooms outsiders can't even see the room. */
const privateMatrix: Record<string, Outcome[]> = Object.fromEntries(
  Object.entries(publicMatrix).map(([rpc, row]) => [rpc, row.map((o, i) => (i === 4 ? NF : o))]),
);

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

async function counts(roomId: bigint) {
  const [room, messages, reactions, events] = await Promise.all([
    env.prisma.room.findUniqueOrThrow({ where: { id: roomId }, select: { lastSeq: true } }),
    env.prisma.message.count({ where: { roomId, deletedAt: null } }),
    env.prisma.reaction.count({ where: { roomId } }),
    env.prisma.roomEvent.count({ where: { roomId } }),
  ]);
  return { lastSeq: room.lastSeq, messages, reactions, events };
}

const show = (o: Outcome) => (o === "ok" ? "ok" : Code[o]);

for (const [label, visibility, matrix] of [
  ["public", Visibility.PUBLIC, publicMatrix],
  ["private", Visibility.PRIVATE, privateMatrix],
] as const) {
  describe(`authorization in a ${label} room`, () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await fixture(visibility);
    });

    for (const [rpc, expected] of Object.entries(matrix)) {
      it(`${rpc}: ${roles.map((r, i) => `${r} ${show(expected[i] ?? "ok")}`).join(", ")}`, async () => {
        const got: string[] = [];
        for (const role of roles) {
          const call = calls[rpc] as Call;
          const u = f.users[role];
          // Refused calls must write nothing: compare around the call itself
          // (the fixture message is sent before the snapshot).
          let before: Awaited<ReturnType<typeof counts>> | undefined;
          const result = await outcome(
            call(
              {
                ...u,
                msgs: new Proxy(u.msgs, {
                  get(target, prop, recv) {
                    const fn = Reflect.get(target, prop, recv);
                    if (typeof fn !== "function") return fn;
                    return async (...args: unknown[]) => {
                      before = await counts(f.roomId);
                      return fn.apply(target, args);
                    };
                  },
                }),
              },
              f,
            ),
          );
          got.push(`${role} ${show(result)}`);
          if (result !== "ok" && before) expect(await counts(f.roomId)).toEqual(before);
        }
        expect(got).toEqual(roles.map((r, i) => `${r} ${show(expected[i] ?? "ok")}`));
      });
    }
  });
}

describe("archived rooms", () => {
  it("are read-only for messages but readable, and MarkRead still works", async () => {
    const f = await fixture(Visibility.PUBLIC);
    const { owner, admin, author, member } = f.users;
    const messageId = await authorMessage(f);
    await member.msgs.addReaction({ messageId, emoji: "👀" });
    const retryKey = cid();
    await author.msgs.sendMessage({
      roomId: f.roomId,
      text: "before archive",
      clientMsgId: retryKey,
    });
    await owner.rooms.archiveRoom({ roomId: f.roomId });
    const before = await counts(f.roomId);
    const FP = Code.FailedPrecondition;
    // Thunks: calls start one at a time, so no rejection waits unobserved.
    const refused: [string, () => Promise<unknown>][] = [
      ["send", () => author.msgs.sendMessage({ roomId: f.roomId, text: "x", clientMsgId: cid() })],
      [
        "custom",
        () =>
          admin.msgs.sendCustomEvent({
            roomId: f.roomId,
            type: "t",
            body: { case: "json", value: "{}" },
            clientMsgId: cid(),
          }),
      ],
      ["edit", () => author.msgs.editMessage({ messageId, text: "x" })],
      ["delete own", () => author.msgs.deleteMessage({ messageId })],
      ["delete as owner", () => owner.msgs.deleteMessage({ messageId })],
      ["react", () => member.msgs.addReaction({ messageId, emoji: "👍" })],
      ["unreact", () => member.msgs.removeReaction({ messageId, emoji: "👀" })],
    ];
    for (const [what, p] of refused) {
      expect([what, show(await outcome(p()))]).toEqual([what, show(FP)]);
    }
    expect(await counts(f.roomId)).toEqual(before);

    // A retry of a message sent before archiving still returns it.
    const retry = await author.msgs.sendMessage({
      roomId: f.roomId,
      text: "before archive",
      clientMsgId: retryKey,
    });
    expect(retry.duplicate).toBe(true);

    const page = await member.msgs.listMessages({ roomId: f.roomId });
    expect(page.messages.length).toBeGreaterThan(0);
    expect((await member.msgs.getMessage({ messageId })).message?.id).toBe(messageId);
    const read = await member.msgs.markRead({ roomId: f.roomId, seq: page.lastSeq });
    expect(read.lastReadSeq).toBe(page.lastSeq);
    expect(await counts(f.roomId)).toEqual(before);
  });
});

describe("former members", () => {
  it("lose write access when they leave or are kicked", async () => {
    const f = await fixture(Visibility.PRIVATE);
    const { owner, author, member } = f.users;
    const messageId = await authorMessage(f);
    await owner.rooms.kickMember({ roomId: f.roomId, userId: author.id });
    await member.rooms.leaveRoom({ roomId: f.roomId });
    for (const u of [author, member]) {
      expect(show(await outcome(u.msgs.editMessage({ messageId, text: "x" })))).toBe("NotFound");
      expect(show(await outcome(u.msgs.getMessage({ messageId })))).toBe("NotFound");
      expect(
        show(
          await outcome(u.msgs.sendMessage({ roomId: f.roomId, text: "x", clientMsgId: cid() })),
        ),
      ).toBe("NotFound");
    }
  });
});

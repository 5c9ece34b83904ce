// The authorization matrix: every room-scoped RPC against a non-member, a
// member, an admin, the owner and a banned user, in a public and a private
// room. Each cell runs on a fresh room; a rejected call must leave the room's
// sequence (and so every table written by a change) untouched.
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { type RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import type { authed } from "../support/clients.js";
import { expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { newUser, type TestUser } from "../support/users.js";

type Rooms = ReturnType<typeof authed<typeof RoomService>>;

const { env, transport } = setupTestEnv();
const actors = ["nonMember", "member", "admin", "owner", "banned"] as const;
type Actor = (typeof actors)[number];
let people: Record<Actor | "target" | "invitee", TestUser>;

beforeAll(async () => {
  const list = await Promise.all(Array.from({ length: 7 }, () => newUser(transport)));
  const [nonMember, member, admin, owner, banned, target, invitee] = list as [
    TestUser,
    TestUser,
    TestUser,
    TestUser,
    TestUser,
    TestUser,
    TestUser,
  ];
  people = { nonMember, member, admin, owner, banned, target, invitee };
});

/** A room: owner, admin, member, target (a MEMBER to act on), banned. */
async function freshRoom(visibility: Visibility): Promise<bigint> {
  const { owner, admin, member, target, banned } = people;
  const { room } = await owner.rooms.createRoom({
    name: `authz ${visibility}`,
    visibility,
    memberIds: [member.id, admin.id, target.id, banned.id],
  });
  const roomId = room?.id ?? 0n;
  await owner.rooms.setMemberRole({ roomId, userId: admin.id, role: MemberRole.ADMIN });
  await owner.rooms.banMember({ roomId, userId: banned.id });
  return roomId;
}

type Outcome = "ok" | Code;
const { NotFound: NF, PermissionDenied: PD, FailedPrecondition: FP } = Code;

interface Row {
  rpc: string;
  call: (rooms: Rooms, roomId: bigint) => Promise<unknown>;
  /** Outcomes for nonMember, member, admin, owner, banned. */
  public: [Outcome, Outcome, Outcome, Outcome, Outcome];
  private: [Outcome, Outcome, Outcome, Outcome, Outcome];
  /** Whether a successful call takes a sequence number, per actor. */
  changes: (actor: Actor) => boolean;
}

const matrix: Row[] = [
  {
    rpc: "GetRoom",
    call: (r, roomId) => r.getRoom({ roomId }),
    public: ["ok", "ok", "ok", "ok", NF],
    private: [NF, "ok", "ok", "ok", NF],
    changes: () => false,
  },
  {
    rpc: "ListMembers",
    call: (r, roomId) => r.listMembers({ roomId }),
    public: ["ok", "ok", "ok", "ok", NF],
    private: [NF, "ok", "ok", "ok", NF],
    changes: () => false,
  },
  {
    rpc: "UpdateRoom",
    call: (r, roomId) => r.updateRoom({ roomId, name: "renamed" }),
    public: [PD, PD, "ok", "ok", NF],
    private: [NF, PD, "ok", "ok", NF],
    changes: () => true,
  },
  {
    rpc: "ArchiveRoom",
    call: (r, roomId) => r.archiveRoom({ roomId }),
    public: [PD, PD, PD, "ok", NF],
    private: [NF, PD, PD, "ok", NF],
    changes: () => true,
  },
  {
    rpc: "JoinRoom",
    call: (r, roomId) => r.joinRoom({ roomId }),
    public: ["ok", "ok", "ok", "ok", PD],
    private: [NF, "ok", "ok", "ok", NF],
    changes: (a) => a === "nonMember",
  },
  {
    rpc: "LeaveRoom",
    call: (r, roomId) => r.leaveRoom({ roomId }),
    public: [PD, "ok", "ok", FP, NF],
    private: [NF, "ok", "ok", FP, NF],
    changes: () => true,
  },
  {
    rpc: "InviteMembers",
    call: (r, roomId) => r.inviteMembers({ roomId, userIds: [people.invitee.id] }),
    public: [PD, "ok", "ok", "ok", NF],
    private: [NF, PD, "ok", "ok", NF],
    changes: () => true,
  },
  {
    rpc: "KickMember",
    call: (r, roomId) => r.kickMember({ roomId, userId: people.target.id }),
    public: [PD, PD, "ok", "ok", NF],
    private: [NF, PD, "ok", "ok", NF],
    changes: () => true,
  },
  {
    rpc: "BanMember",
    call: (r, roomId) => r.banMember({ roomId, userId: people.target.id }),
    public: [PD, PD, "ok", "ok", NF],
    private: [NF, PD, "ok", "ok", NF],
    changes: () => true,
  },
  {
    rpc: "UnbanMember",
    call: (r, roomId) => r.unbanMember({ roomId, userId: people.banned.id }),
    public: [PD, PD, "ok", "ok", NF],
    private: [NF, PD, "ok", "ok", NF],
    changes: () => true,
  },
  {
    rpc: "SetMemberRole",
    call: (r, roomId) =>
      r.setMemberRole({ roomId, userId: people.target.id, role: MemberRole.ADMIN }),
    public: [PD, PD, PD, "ok", NF],
    private: [NF, PD, PD, "ok", NF],
    changes: () => true,
  },
];

async function lastSeq(roomId: bigint): Promise<bigint> {
  return (await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } })).lastSeq;
}

async function rowCounts(roomId: bigint) {
  const [events, messages, memberships] = await Promise.all([
    env.prisma.roomEvent.count({ where: { roomId } }),
    env.prisma.message.count({ where: { roomId } }),
    env.prisma.membership.findMany({ where: { roomId }, orderBy: { userId: "asc" } }),
  ]);
  return { events, messages, memberships };
}

for (const visibility of [Visibility.PUBLIC, Visibility.PRIVATE]) {
  const label = visibility === Visibility.PUBLIC ? "public" : "private";
  describe(`${label} room`, () => {
    for (const row of matrix) {
      it(`${row.rpc}: ${actors.join("/")}`, async () => {
        const expected = visibility === Visibility.PUBLIC ? row.public : row.private;
        const got: Outcome[] = [];
        for (const actor of actors) {
          const roomId = await freshRoom(visibility);
          const before = await lastSeq(roomId);
          const counts = await rowCounts(roomId);
          let outcome: Outcome = "ok";
          try {
            await row.call(people[actor].rooms, roomId);
          } catch (err) {
            outcome = ConnectError.from(err).code;
          }
          got.push(outcome);
          const after = await lastSeq(roomId);
          if (outcome === "ok") {
            expect(after, `${row.rpc} by ${actor}`).toBe(row.changes(actor) ? before + 1n : before);
          } else {
            expect(after, `${row.rpc} by ${actor} wrote a change`).toBe(before);
            expect(await rowCounts(roomId)).toEqual(counts);
          }
        }
        expect(got.map(name)).toEqual(expected.map(name));
      });
    }
  });
}

function name(o: Outcome): string {
  return o === "ok" ? "ok" : Code[o];
}

describe("lists", () => {
  it("ListPublicRooms hides rooms the caller is banned from and private rooms", async () => {
    const pub = await freshRoom(Visibility.PUBLIC);
    const priv = await freshRoom(Visibility.PRIVATE);
    const ids = async (p: TestUser) =>
      (await p.rooms.listPublicRooms({ pageSize: 100 })).rooms.map((r) => r.id);
    expect(await ids(people.nonMember)).toContain(pub);
    expect(await ids(people.nonMember)).not.toContain(priv);
    expect(await ids(people.owner)).not.toContain(priv);
    expect(await ids(people.banned)).not.toContain(pub);
  });

  it("ListMyRooms shows only rooms the caller belongs to, with their role", async () => {
    const pub = await freshRoom(Visibility.PUBLIC);
    const roles = async (p: TestUser) =>
      new Map(
        (await p.rooms.listMyRooms({ pageSize: 200 })).rooms.map((r) => [r.room?.id, r.role]),
      );
    expect((await roles(people.owner)).get(pub)).toBe(MemberRole.OWNER);
    expect((await roles(people.admin)).get(pub)).toBe(MemberRole.ADMIN);
    expect((await roles(people.member)).get(pub)).toBe(MemberRole.MEMBER);
    expect((await roles(people.nonMember)).has(pub)).toBe(false);
    expect((await roles(people.banned)).has(pub)).toBe(false);
  });

  it("every RPC rejects unknown rooms as NotFound", async () => {
    for (const row of matrix) {
      const err = await expectCode(row.call(people.owner.rooms, 987_654_321n), Code.NotFound);
      expect(err.message, row.rpc).toContain("room not found");
    }
  });
});

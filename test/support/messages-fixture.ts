/**
 * Shared setup of the MessageService tests (test/messages/*.test.ts): one
 * fresh environment per test file, reached through the in-memory
 * transport, plus the users, rooms and database look-ups those files all
 * need. Each file used to carry its own ~25-line copy of this setup; one
 * copy keeps them from drifting apart. (group-commit.test.ts keeps its own:
 * it adds a send pool and signs users up on other transports.)
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Client, Transport } from "@connectrpc/connect";
import { afterAll, beforeAll } from "vitest";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import { MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import type { PrismaClient, RoomEvent as RoomEventRow } from "../../prisma/generated/client.js";
import { authed, createTestEnv, inMemoryTransport, signUp, type TestEnv } from "./server.js";

/** A signed-up user with clients of RoomService and MessageService that send its token. */
export interface TestUser extends Awaited<ReturnType<typeof signUp>> {
  id: bigint;
  rooms: Client<typeof RoomService>;
  msgs: Client<typeof MessageService>;
}

/** Row counts and last_seq of a room: equal before and after a call that must write nothing. */
export interface RoomSnapshot {
  lastSeq: bigint;
  messages: number;
  events: number;
  mentions: number;
  reactions: number;
}

/** What {@link messagesFixture} gives a test file. */
export interface MessagesFixture {
  /** The environment's database client; usable inside tests and hooks, not at import time. */
  readonly prisma: PrismaClient;
  /** Signs up a new user (unique name) and returns it with its clients. */
  newUser(): Promise<TestUser>;
  /** Creates a room owned by `owner` with `members` added; returns its id. */
  newRoom(owner: TestUser, members?: TestUser[], visibility?: Visibility): Promise<bigint>;
  /** Row counts and last_seq of `roomId`, to prove a failed call wrote nothing. */
  snapshot(roomId: bigint): Promise<RoomSnapshot>;
  /** The stored room_events row at (`roomId`, `seq`) and its decoded RoomEvent. */
  eventAt(roomId: bigint, seq: bigint): Promise<{ row: RoomEventRow; event: RoomEvent }>;
}

/**
 * Registers `beforeAll`/`afterAll` hooks in the calling test file that
 * create a fresh environment (its own database) and close it, and returns
 * helpers bound to it. Call it once at the top level of the file.
 *
 * `roomPrefix` starts every room name (each file keeps the room names it
 * has always used, e.g. "history 1x2y3z").
 */
export function messagesFixture(roomPrefix: string): MessagesFixture {
  // Set in beforeAll, after the test file has already destructured the
  // fixture: so it hands out functions and a getter that read these late,
  // never the values themselves.
  let env: TestEnv | undefined;
  let transport: Transport | undefined;

  beforeAll(async () => {
    env = await createTestEnv();
    transport = inMemoryTransport(env);
  });
  // env is unset only when createTestEnv failed; vitest reports that failure.
  afterAll(() => env?.close());

  const ready = () => {
    if (!env || !transport) throw new Error("messages fixture used before its beforeAll ran");
    return { env, transport };
  };

  const fixture: MessagesFixture = {
    get prisma() {
      return ready().env.prisma;
    },

    async newUser() {
      const { transport: t } = ready();
      const u = await signUp(t);
      return {
        ...u,
        id: u.user.id,
        rooms: authed(RoomService, t, u.token),
        msgs: authed(MessageService, t, u.token),
      };
    },

    async newRoom(owner, members = [], visibility = Visibility.PUBLIC) {
      const res = await owner.rooms.createRoom({
        name: `${roomPrefix} ${Math.random().toString(36).slice(2, 8)}`,
        visibility,
        memberIds: members.map((m) => m.id),
      });
      if (!res.room) throw new Error("no room");
      return res.room.id;
    },

    async snapshot(roomId) {
      const { prisma } = ready().env;
      const [room, messages, events, mentions, reactions] = await Promise.all([
        prisma.room.findUniqueOrThrow({ where: { id: roomId }, select: { lastSeq: true } }),
        prisma.message.count({ where: { roomId } }),
        prisma.roomEvent.count({ where: { roomId } }),
        prisma.mention.count({ where: { roomId } }),
        prisma.reaction.count({ where: { roomId } }),
      ]);
      return { lastSeq: room.lastSeq, messages, events, mentions, reactions };
    },

    async eventAt(roomId, seq) {
      const row = await ready().env.prisma.roomEvent.findUniqueOrThrow({
        where: { roomId_seq: { roomId, seq } },
      });
      return { row, event: fromBinary(RoomEventSchema, row.payload) };
    },
  };
  return fixture;
}

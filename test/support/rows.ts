/**
 * What tests read straight from the database: a room's row counts (equal
 * before and after a call that must write nothing), its stored events, and
 * the check that its sequence is dense.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { expect } from "vitest";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";
import type { RoomEvent as RoomEventRow } from "../../prisma/generated/client.js";
import type { TestEnv } from "./env.js";

/** Row counts and last_seq of a room. */
export interface RoomSnapshot {
  lastSeq: bigint;
  messages: number;
  events: number;
  mentions: number;
  reactions: number;
}

/** Row counts and last_seq of `roomId`, to prove a failed call wrote nothing. */
export async function roomSnapshot(env: TestEnv, roomId: bigint): Promise<RoomSnapshot> {
  const { prisma } = env;
  const [room, messages, events, mentions, reactions] = await Promise.all([
    prisma.room.findUniqueOrThrow({ where: { id: roomId }, select: { lastSeq: true } }),
    prisma.message.count({ where: { roomId } }),
    prisma.roomEvent.count({ where: { roomId } }),
    prisma.mention.count({ where: { roomId } }),
    prisma.reaction.count({ where: { roomId } }),
  ]);
  return { lastSeq: room.lastSeq, messages, events, mentions, reactions };
}

/** The stored room_events row at (`roomId`, `seq`) and its decoded RoomEvent. */
export async function eventAt(
  env: TestEnv,
  roomId: bigint,
  seq: bigint,
): Promise<{ row: RoomEventRow; event: RoomEvent }> {
  const row = await env.prisma.roomEvent.findUniqueOrThrow({
    where: { roomId_seq: { roomId, seq } },
  });
  return { row, event: fromBinary(RoomEventSchema, row.payload) };
}

/** The stored events of a room (seq and payload), seq 1..last_seq. */
export async function storedEvents(env: TestEnv, roomId: bigint) {
  return env.prisma.roomEvent.findMany({
    where: { roomId },
    orderBy: { seq: "asc" },
    select: { seq: true, payload: true },
  });
}

/** The room's last_seq from the database. */
export async function lastSeqOf(env: TestEnv, roomId: bigint): Promise<bigint> {
  const room = await env.prisma.room.findUniqueOrThrow({
    where: { id: roomId },
    select: { lastSeq: true },
  });
  return room.lastSeq;
}

/** Asserts room_events holds exactly 1..last_seq, no hole, no duplicate; returns the room row. */
export async function expectDense(env: TestEnv, roomId: bigint) {
  const room = await env.prisma.room.findUniqueOrThrow({ where: { id: roomId } });
  const events = await env.prisma.roomEvent.findMany({
    where: { roomId },
    select: { seq: true },
    orderBy: { seq: "asc" },
  });
  expect(events.map((e) => e.seq)).toEqual(
    Array.from({ length: Number(room.lastSeq) }, (_, i) => BigInt(i + 1)),
  );
  return room;
}

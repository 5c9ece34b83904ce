/**
 * Slow mode: owners and admins set it (UpdateRoom), members may then send
 * one message per that many seconds, on any instance and in one batch alike;
 * owners and admins are exempt; a retry of a stored message is never held
 * back. The refusal carries RetryInfo. Slow mode of 600 s: nothing depends
 * on timing.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { roomSnapshot } from "../support/rows.js";
import { newRoom, newUser } from "../support/users.js";
import { expectLimited } from "./kit.js";

// Rate limits off: slow mode is a rule of the room, always on.
const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });

let n = 0;
const msg = (roomId: bigint, clientMsgId = `c${++n}`) => ({ roomId, text: `m${n}`, clientMsgId });

describe("slow mode", () => {
  it("lets a member send once per period, on any instance; owners and admins are exempt", async () => {
    const owner = await newUser(a, "sm");
    const admin = await newUser(a, "sm");
    const member = await newUser(a, "sm");
    const room = await newRoom(owner, [admin, member]);
    await owner.rooms.setMemberRole({ roomId: room, userId: admin.id, role: MemberRole.ADMIN });
    const updated = await owner.rooms.updateRoom({ roomId: room, slowModeSeconds: 600 });
    expect(updated.room?.slowModeSeconds).toBe(600);
    expect((await member.rooms.getRoom({ roomId: room })).room?.slowModeSeconds).toBe(600);

    const first = msg(room);
    await member.msgs.sendMessage(first);
    const before = await roomSnapshot(env, room);
    const ms = await expectLimited(member.on(b).msgs.sendMessage(msg(room)), 600_000);
    expect(ms).toBeGreaterThan(590_000);
    expect(await roomSnapshot(env, room)).toEqual(before);
    // The retry of the stored message is answered, not held back.
    expect((await member.msgs.sendMessage(first)).duplicate).toBe(true);
    for (let i = 0; i < 3; i++) {
      await owner.msgs.sendMessage(msg(room));
      await admin.on(b).msgs.sendMessage(msg(room));
    }
    // Off again: the member sends at once.
    await owner.rooms.updateRoom({ roomId: room, slowModeSeconds: 0 });
    await member.msgs.sendMessage(msg(room));
    await member.msgs.sendMessage(msg(room));
  });

  it("holds back a member's second send of one batch", async () => {
    const owner = await newUser(a, "sm");
    const member = await newUser(a, "sm");
    const room = await newRoom(owner, [member]);
    await owner.rooms.updateRoom({ roomId: room, slowModeSeconds: 600 });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => member.msgs.sendMessage(msg(room))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("is set by owners and admins only, within 0-21600 s", async () => {
    const owner = await newUser(a, "sm");
    const member = await newUser(a, "sm");
    const room = await newRoom(owner, [member]);
    await expectCode(
      member.rooms.updateRoom({ roomId: room, slowModeSeconds: 3 }),
      Code.PermissionDenied,
    );
    const err = await expectCode(
      owner.rooms.updateRoom({ roomId: room, slowModeSeconds: 21_601 }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["slow_mode_seconds"]);
    // Seed 003's 3 s is one call away.
    const r = await owner.rooms.updateRoom({ roomId: room, slowModeSeconds: 3 });
    expect(r.room?.slowModeSeconds).toBe(3);
  });
});

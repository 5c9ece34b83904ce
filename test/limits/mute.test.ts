/**
 * Mutes: an owner or admin mutes a member for a duration; the member still
 * reads but cannot send (PERMISSION_DENIED, reason MUTED, RetryInfo and
 * `muted_until`), on every instance; each mute and unmute is a room event
 * with the moderator as actor; nobody mutes someone of their rank or above.
 */

import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ModerationService } from "../../gen/chat/v1/moderation_pb.js";
import { MemberRole } from "../../gen/chat/v1/role_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { withToken } from "../support/clients.js";
import { expectCode, reasonOf } from "../support/errors.js";
import { FeedReader } from "../support/feed.js";
import { setupTestEnv } from "../support/fixture.js";
import { roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, send, type TestUser } from "../support/users.js";
import { retryDelayMs } from "./kit.js";

const { env, a, b } = setupTestEnv({ redis: true, instances: 2 });
const dateOf = (t: Timestamp | undefined) => (t ? timestampDate(t) : new Date(0));
const mod = (u: TestUser) => createClient(ModerationService, withToken(a, u.token));

describe("mute", () => {
  it("keeps a member from sending until the end, with an event and RetryInfo", async () => {
    const owner = await newUser(a, "mu");
    const member = await newUser(a, "mu");
    const room = await newRoom(owner, [member]);
    await send(owner, room, "before");
    const feed = FeedReader.open(member.feed);
    await feed.ready();
    const muted = await mod(owner).muteMember({
      roomId: room,
      userId: member.id,
      durationSeconds: 600,
    });
    const until = dateOf(muted.until);
    const evs = await feed.until(
      (e) => e.case === "roomEvent" && e.value.change.case === "memberMuted",
    );
    const ev = evs.at(-1);
    expect(ev?.case === "roomEvent" && ev.value.actorId).toBe(owner.id);
    expect(ev?.case === "roomEvent" && ev.value.seq).toBe(muted.seq);
    // They see until when.
    const got = await member.rooms.getRoom({ roomId: room });
    expect(dateOf(got.mutedUntil).getTime()).toBe(until.getTime());
    // They read, but cannot send, on either instance; nothing is stored.
    expect((await member.msgs.listMessages({ roomId: room })).messages.length).toBeGreaterThan(0);
    const before = await roomSnapshot(env, room);
    const err = await expectCode(
      member.on(b).msgs.sendMessage({ roomId: room, text: "hello?", clientMsgId: "m1" }),
      Code.PermissionDenied,
    );
    expect(reasonOf(err)).toBe("MUTED");
    expect(retryDelayMs(err)).toBeGreaterThan(590_000);
    expect(err.findDetails(ErrorInfoSchema)[0]?.metadata.muted_until).toBe(until.toISOString());
    expect(await roomSnapshot(env, room)).toEqual(before);
    // Unmuted: an event, and they send.
    const un = await mod(owner).unmuteMember({ roomId: room, userId: member.id });
    expect(un.seq).toBeGreaterThan(muted.seq);
    await feed.until(
      (e) =>
        e.case === "roomEvent" && e.value.change.case === "memberMuted" && e.value.seq === un.seq,
    );
    expect((await member.rooms.getRoom({ roomId: room })).mutedUntil).toBeUndefined();
    await member.msgs.sendMessage({ roomId: room, text: "hello!", clientMsgId: "m2" });
    expect((await mod(owner).unmuteMember({ roomId: room, userId: member.id })).seq).toBe(0n);
    feed.close();
  });

  it("is for admins over lower ranks only", async () => {
    const owner = await newUser(a, "mu");
    const admin = await newUser(a, "mu");
    const member = await newUser(a, "mu");
    const room = await newRoom(owner, [admin, member]);
    await owner.rooms.setMemberRole({ roomId: room, userId: admin.id, role: MemberRole.ADMIN });
    await expectCode(
      mod(member).muteMember({ roomId: room, userId: admin.id, durationSeconds: 60 }),
      Code.PermissionDenied,
    );
    await expectCode(
      mod(admin).muteMember({ roomId: room, userId: owner.id, durationSeconds: 60 }),
      Code.PermissionDenied,
    );
    await mod(admin).muteMember({ roomId: room, userId: member.id, durationSeconds: 60 });
    await expectCode(
      mod(admin).muteMember({ roomId: room, userId: member.id, durationSeconds: 0 }),
      Code.InvalidArgument,
    );
    const stranger = await newUser(a, "mu");
    await expectCode(
      mod(admin).muteMember({ roomId: room, userId: stranger.id, durationSeconds: 60 }),
      Code.NotFound,
    );
  });
});

/**
 * Names and texts that show nothing, and bidi controls in names, are
 * refused with a field violation and change nothing.
 */
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { Visibility } from "../../gen/chat/v1/room_pb.js";
import { badFields, expectCode } from "../support/errors.js";
import { setupTestEnv } from "../support/fixture.js";
import { roomSnapshot } from "../support/rows.js";
import { newRoom, newUser, testPassword, uniqueName } from "../support/users.js";

const { env, a } = setupTestEnv();

describe("visible names and texts", () => {
  it("refuses invisible display names and bidi overrides at registration and in profiles", async () => {
    const auth = createClient(AuthService, a);
    for (const displayName of ["\u200B\u200B", "\u3164", "admin\u202Egnp.exe"]) {
      const err = await expectCode(
        auth.register({ username: uniqueName("vn"), password: testPassword, displayName }),
        Code.InvalidArgument,
      );
      expect(badFields(err)).toEqual(["display_name"]);
    }
    const alice = await newUser(a, "vn");
    const err = await expectCode(
      alice.users.updateProfile({ displayName: "\u2066Bob\u2069" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["display_name"]);
    const me = await alice.users.getMe({});
    expect(me.user?.displayName).toBe("");
    // Right-to-left names without controls are fine.
    expect((await alice.users.updateProfile({ displayName: "שלום" })).user?.displayName).toBe(
      "שלום",
    );
  });

  it("refuses invisible room names, descriptions and messages", async () => {
    const alice = await newUser(a, "vn");
    const bad = await expectCode(
      alice.rooms.createRoom({
        name: "\u200B",
        description: "\u2800",
        visibility: Visibility.PUBLIC,
      }),
      Code.InvalidArgument,
    );
    expect(badFields(bad)).toEqual(["description", "name"]);
    const room = await newRoom(alice);
    await expectCode(
      alice.rooms.updateRoom({ roomId: room, name: "a\u202Eb" }),
      Code.InvalidArgument,
    );
    const before = await roomSnapshot(env, room);
    const err = await expectCode(
      alice.msgs.sendMessage({ roomId: room, text: "\u200B\u200D", clientMsgId: "inv" }),
      Code.InvalidArgument,
    );
    expect(badFields(err)).toEqual(["text"]);
    expect(await roomSnapshot(env, room)).toEqual(before);
  });
});

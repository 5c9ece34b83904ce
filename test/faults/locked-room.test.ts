/**
 * A room whose lock another transaction holds (another instance's batch, or
 * a frozen process that took it and stopped) never holds up the sends of
 * other rooms: the batch skips it (SKIP LOCKED) and defers its sends, which
 * go through once the lock is free, or are answered Unavailable with
 * RetryInfo after a bound. The lock is held here by a plain connection.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import * as mariadb from "mariadb";
import { beforeAll, describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { connectionConfig, parseDatabaseUrl } from "../../server/store/migrate/migrate.js";
import { setupTestEnv } from "../support/fixture.js";
import { newRoom, newUser, type TestUser } from "../support/users.js";

const { env, transport } = setupTestEnv();
let alice: TestUser;
let held: bigint;
let free: bigint;

beforeAll(async () => {
  alice = await newUser(transport, "lock");
  held = await newRoom(alice);
  free = await newRoom(alice);
});

/** Takes the room's row lock on a connection of its own until `release()`. */
async function holdRoom(roomId: bigint): Promise<{ release(): Promise<void> }> {
  const conn = await mariadb.createConnection(connectionConfig(parseDatabaseUrl(env.databaseUrl)));
  await conn.query("BEGIN");
  await conn.query("SELECT id FROM rooms WHERE id = ? FOR UPDATE", [roomId]);
  return {
    async release() {
      await conn.query("ROLLBACK");
      await conn.end();
    },
  };
}

describe("a room locked by another transaction", () => {
  it("does not hold up other rooms; its sends go through once it is free", async () => {
    const lock = await holdRoom(held);
    const t0 = performance.now();
    // Issued together, so that one batch takes both rooms.
    const stuck = alice.msgs.sendMessage({ roomId: held, text: "waits", clientMsgId: "w1" });
    const other = await Promise.race([
      alice.msgs.sendMessage({ roomId: free, text: "goes", clientMsgId: "g1" }),
      stuck.then(() => undefined),
    ]);
    expect(other?.message?.text).toBe("goes");
    // Well before InnoDB's lock wait timeout would have let it through.
    expect(performance.now() - t0).toBeLessThan(2_000);
    await lock.release();
    const res = await stuck;
    expect(res.message?.text).toBe("waits");
  });

  it("answers Unavailable with RetryInfo when the lock stays taken, and stores nothing", async () => {
    const lock = await holdRoom(held);
    try {
      await alice.msgs.sendMessage({ roomId: held, text: "never", clientMsgId: "n1" });
      throw new Error("stored while the room was locked");
    } catch (err) {
      const ce = ConnectError.from(err);
      expect(Code[ce.code]).toBe(Code[Code.Unavailable]);
      expect(ce.findDetails(RetryInfoSchema)).toHaveLength(1);
    } finally {
      await lock.release();
    }
    const stored = await env.prisma.message.count({ where: { roomId: held, clientMsgId: "n1" } });
    expect(stored).toBe(0);
    // The same id afterwards stores it once.
    const again = await alice.msgs.sendMessage({ roomId: held, text: "never", clientMsgId: "n1" });
    expect(again.duplicate).toBe(false);
  }, 20_000);
});

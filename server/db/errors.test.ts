import { describe, expect, it } from "vitest";
import { isDbUnreachable, isTransientDbError, isTransientTxError } from "./errors.js";

/** Shapes seen from Prisma 7's mariadb adapter and the mariadb driver with the server down. */
const prismaPoolTimeout = {
  name: "PrismaClientKnownRequestError",
  code: "P2039",
  meta: {
    driverAdapterError: {
      name: "DriverAdapterError",
      cause: { originalCode: "45028", kind: "mysql", code: 45028, message: "pool timeout" },
    },
  },
};
const driverPoolTimeout = Object.assign(new Error("pool timeout"), {
  code: "ER_GET_CONNECTION_TIMEOUT",
  errno: 45028,
});
const socketClosed = Object.assign(new Error("socket has unexpectedly been closed"), {
  code: "ER_SOCKET_UNEXPECTED_CLOSE",
  errno: 45009,
});
const deadlock = { code: "P2034", message: "write conflict or deadlock" };
const duplicate = { code: "P2002", message: "Unique constraint failed" };

describe("database error classification", () => {
  it("recognises an unreachable database from every driver", () => {
    for (const e of [prismaPoolTimeout, driverPoolTimeout, socketClosed, { code: "P1001" }]) {
      expect(isDbUnreachable(e)).toBe(true);
      expect(isTransientDbError(e)).toBe(true);
    }
    expect(isDbUnreachable(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
  });

  it("tells contention from unreachability", () => {
    expect(isTransientTxError(deadlock)).toBe(true);
    expect(isDbUnreachable(deadlock)).toBe(false);
    expect(isTransientTxError(new Error("Deadlock found when trying to get lock (1213)"))).toBe(
      true,
    );
  });

  it("leaves client and programming errors alone", () => {
    for (const e of [duplicate, new Error("boom"), undefined, "text", { code: 1062 }]) {
      expect(isTransientDbError(e)).toBe(false);
    }
  });
});

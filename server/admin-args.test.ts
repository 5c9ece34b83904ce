import { describe, expect, it } from "vitest";
import { parseAdminArgs } from "./admin-args.js";

describe("parseAdminArgs", () => {
  it("parses create, list and revoke", () => {
    expect(parseAdminArgs(["keys", "create", "--name", "ops"])).toEqual({
      kind: "create",
      name: "ops",
      scope: "FULL",
    });
    expect(parseAdminArgs(["keys", "create", "--name", "grafana", "--scope", "read-only"])).toEqual(
      {
        kind: "create",
        name: "grafana",
        scope: "READ_ONLY",
      },
    );
    expect(parseAdminArgs(["keys", "list"])).toEqual({ kind: "list" });
    expect(parseAdminArgs(["keys", "revoke", "7"])).toEqual({ kind: "revoke", key: "7" });
    expect(parseAdminArgs([])).toEqual({ kind: "help" });
    expect(parseAdminArgs(["search", "backfill"])).toEqual({
      kind: "search-backfill",
      afterId: 0n,
      window: 2000,
    });
    expect(
      parseAdminArgs(["search", "backfill", "--after-id", "12345", "--window", "500"]),
    ).toEqual({ kind: "search-backfill", afterId: 12345n, window: 500 });
  });

  it("refuses search commands it does not understand", () => {
    expect(() => parseAdminArgs(["search", "rebuild"])).toThrow(/unknown search command/);
    expect(() => parseAdminArgs(["search", "backfill", "--after-id", "-1"])).toThrow(/number/);
    expect(() => parseAdminArgs(["search", "backfill", "--window", "0"])).toThrow(/--window/);
    expect(() => parseAdminArgs(["search", "backfill", "--fast", "1"])).toThrow(/unknown option/);
  });

  it("refuses what it does not understand", () => {
    expect(() => parseAdminArgs(["keys", "create"])).toThrow(/--name is required/);
    expect(() => parseAdminArgs(["keys", "create", "--name", "a b"])).toThrow(/--name/);
    expect(() => parseAdminArgs(["keys", "create", "--name", "x", "--scope", "root"])).toThrow(
      /--scope/,
    );
    expect(() => parseAdminArgs(["users"])).toThrow(/unknown command/);
    expect(() => parseAdminArgs(["keys", "revoke"])).toThrow(/unknown keys command/);
  });
});
